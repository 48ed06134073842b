//! Signed Apple configuration profiles: a CMS SignedData (RFC 5652) in DER over the profile's
//! plist, signed with `[service] profile_key` and carrying `profile_certificate` (and any
//! intermediates after it in the same PEM file), as `openssl cms -sign -nodetach -outform DER`
//! writes one. iOS and macOS then show the profile as signed by that certificate's subject
//! ("Verified" when it chains to a trusted root) instead of "Unverified".
//!
//! The signature is ring's (RSA PKCS #1 v1.5 with SHA-256, or ECDSA P-256 with SHA-256), the
//! same constant-time code rustls uses for TLS here; the DER around it is the few structures
//! below. Why not a CMS crate: docs/ARCHITECTURE.md, "Signed profiles".

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

// Object identifiers, DER-encoded with their tag and length.
const OID_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
];
const OID_SIGNED_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
];
const OID_CONTENT_TYPE: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03,
];
const OID_MESSAGE_DIGEST: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04,
];
const OID_SIGNING_TIME: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05,
];
const OID_SHA256: &[u8] = &[
    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
];
const OID_RSA_ENCRYPTION: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const OID_ECDSA_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const NULL: &[u8] = &[0x05, 0x00];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// `[0]` constructed: EXPLICIT content, or the IMPLICIT `certificates` and `signedAttrs`.
const CONTEXT_0: u8 = 0xa0;

enum Key {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

/// The profile signer: the key, its certificate and the chain, read once at start.
pub struct Signer {
    key: Key,
    /// The signer's certificate first, then the intermediates, each in DER.
    certificates: Vec<Vec<u8>>,
    /// The signer's `IssuerAndSerialNumber`, DER.
    issuer_and_serial: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    /// The signer named by `[service] profile_certificate` and `profile_key`; none when both
    /// are empty. Either alone, an unreadable file, a key that is not PKCS #8 or PKCS #1 RSA /
    /// PKCS #8 P-256, or a key that does not belong to the certificate is an error naming it.
    pub fn from_config(service: &crate::config::ServiceConfig) -> anyhow::Result<Option<Signer>> {
        match (
            service.profile_certificate.as_str(),
            service.profile_key.as_str(),
        ) {
            ("", "") => Ok(None),
            ("", _) => bail!("service.profile_key is set without service.profile_certificate"),
            (_, "") => bail!("service.profile_certificate is set without service.profile_key"),
            (cert, key) => Signer::load(Path::new(cert), Path::new(key)).map(Some),
        }
    }

    /// The signer from a PEM certificate file (leaf first, then intermediates) and a PEM key.
    pub fn load(certificate: &Path, key: &Path) -> anyhow::Result<Signer> {
        let certificates: Vec<Vec<u8>> = CertificateDer::pem_file_iter(certificate)
            .with_context(|| format!("service.profile_certificate: {}", certificate.display()))?
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("service.profile_certificate: {}", certificate.display()))?;
        let leaf = certificates.first().ok_or_else(|| {
            anyhow!(
                "service.profile_certificate: {} holds no certificate",
                certificate.display()
            )
        })?;
        let parts = CertificateParts::parse(leaf).with_context(|| {
            format!(
                "service.profile_certificate: {} is not an X.509 certificate",
                certificate.display()
            )
        })?;
        let private = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("service.profile_key: {}", key.display()))?;
        let unsupported = || {
            anyhow!(
                "service.profile_key: {} is neither an RSA key nor a P-256 key in PKCS #8 \
                 (openssl pkcs8 -topk8 -nocrypt converts one)",
                key.display()
            )
        };
        let key_pair = match &private {
            PrivateKeyDer::Pkcs1(der) => {
                Key::Rsa(RsaKeyPair::from_der(der.secret_pkcs1_der()).map_err(|_| unsupported())?)
            }
            PrivateKeyDer::Pkcs8(der) => {
                let der = der.secret_pkcs8_der();
                match RsaKeyPair::from_pkcs8(der) {
                    Ok(k) => Key::Rsa(k),
                    Err(_) => Key::Ecdsa(
                        EcdsaKeyPair::from_pkcs8(
                            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                            der,
                            &SystemRandom::new(),
                        )
                        .map_err(|_| unsupported())?,
                    ),
                }
            }
            _ => return Err(unsupported()),
        };
        let public = match &key_pair {
            Key::Rsa(k) => k.public_key().as_ref(),
            Key::Ecdsa(k) => k.public_key().as_ref(),
        };
        if public != parts.public_key {
            bail!(
                "service.profile_key: {} is not the key of service.profile_certificate {}",
                key.display(),
                certificate.display()
            );
        }
        let issuer_and_serial = tlv(SEQUENCE, &[parts.issuer, parts.serial].concat());
        Ok(Signer {
            key: key_pair,
            issuer_and_serial,
            certificates,
            rng: SystemRandom::new(),
        })
    }

    /// `content` wrapped in a CMS SignedData (DER) with the signing time `at` (Unix seconds).
    pub fn sign(&self, content: &[u8], at: i64) -> anyhow::Result<Vec<u8>> {
        let digest_algorithm = tlv(SEQUENCE, &[OID_SHA256, NULL].concat());
        let mut attributes = [
            attribute(OID_CONTENT_TYPE, OID_DATA),
            attribute(
                OID_MESSAGE_DIGEST,
                &tlv(OCTET_STRING, &Sha256::digest(content)),
            ),
            attribute(OID_SIGNING_TIME, &signing_time(at)?),
        ];
        // DER orders a SET OF by the encodings.
        attributes.sort();
        let attributes = attributes.concat();
        // The signature covers the attributes as a SET; the SignerInfo holds them as [0].
        let signed = tlv(SET, &attributes);
        let (signature_algorithm, signature) = match &self.key {
            Key::Rsa(k) => {
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &self.rng, &signed, &mut out)
                    .map_err(|_| anyhow!("signing the profile failed"))?;
                (tlv(SEQUENCE, &[OID_RSA_ENCRYPTION, NULL].concat()), out)
            }
            Key::Ecdsa(k) => {
                let out = k
                    .sign(&self.rng, &signed)
                    .map_err(|_| anyhow!("signing the profile failed"))?;
                (tlv(SEQUENCE, OID_ECDSA_SHA256), out.as_ref().to_vec())
            }
        };
        let signer_info = tlv(
            SEQUENCE,
            &[
                &[INTEGER, 1, 1][..],
                &self.issuer_and_serial,
                &digest_algorithm,
                &tlv(CONTEXT_0, &attributes),
                &signature_algorithm,
                &tlv(OCTET_STRING, &signature),
            ]
            .concat(),
        );
        let encapsulated = tlv(
            SEQUENCE,
            &[OID_DATA, &tlv(CONTEXT_0, &tlv(OCTET_STRING, content))].concat(),
        );
        let signed_data = tlv(
            SEQUENCE,
            &[
                &[INTEGER, 1, 1][..],
                &tlv(SET, &digest_algorithm),
                &encapsulated,
                &tlv(CONTEXT_0, &self.certificates.concat()),
                &tlv(SET, &signer_info),
            ]
            .concat(),
        );
        Ok(tlv(
            SEQUENCE,
            &[OID_SIGNED_DATA, &tlv(CONTEXT_0, &signed_data)].concat(),
        ))
    }
}

/// `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF value }` with one value.
fn attribute(oid: &[u8], value: &[u8]) -> Vec<u8> {
    tlv(SEQUENCE, &[oid, &tlv(SET, value)].concat())
}

/// RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
fn signing_time(at: i64) -> anyhow::Result<Vec<u8>> {
    let t = chrono::DateTime::from_timestamp(at, 0).ok_or_else(|| anyhow!("time {at}"))?;
    let year = chrono::Datelike::year(&t);
    Ok(if (1950..2050).contains(&year) {
        tlv(UTC_TIME, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
    } else {
        tlv(
            GENERALIZED_TIME,
            t.format("%Y%m%d%H%M%SZ").to_string().as_bytes(),
        )
    })
}

/// A DER tag, its definite length and `value`.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let len = value.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

/// One DER element at the start of some input, and what follows it.
struct Element<'a> {
    tag: u8,
    /// Tag, length and value, as encoded.
    whole: &'a [u8],
    value: &'a [u8],
    rest: &'a [u8],
}

/// The DER element at the start of `input`.
fn read(input: &[u8]) -> anyhow::Result<Element<'_>> {
    let (&tag, rest) = input.split_first().ok_or_else(|| anyhow!("truncated"))?;
    let (&first, rest) = rest.split_first().ok_or_else(|| anyhow!("truncated"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            bail!("bad length");
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        bail!("truncated");
    }
    let header = input.len() - rest.len();
    Ok(Element {
        tag,
        whole: &input[..header + len],
        value: &rest[..len],
        rest: &rest[len..],
    })
}

/// What a signer needs of its certificate: the serial number and issuer (as they are
/// encoded) and the public key (the subjectPublicKeyInfo's bits).
struct CertificateParts<'a> {
    serial: &'a [u8],
    issuer: &'a [u8],
    public_key: &'a [u8],
}

impl<'a> CertificateParts<'a> {
    fn parse(der: &'a [u8]) -> anyhow::Result<CertificateParts<'a>> {
        let certificate = read(der)?;
        let tbs = read(certificate.value)?;
        if certificate.tag != SEQUENCE || tbs.tag != SEQUENCE {
            bail!("not a certificate");
        }
        let first = read(tbs.value)?;
        // version [0] EXPLICIT, when present; the serial number follows.
        let serial = if first.tag == CONTEXT_0 {
            read(first.rest)?
        } else {
            first
        };
        if serial.tag != INTEGER {
            bail!("no serial number");
        }
        let algorithm = read(serial.rest)?;
        let issuer = read(algorithm.rest)?;
        let validity = read(issuer.rest)?;
        let subject = read(validity.rest)?;
        let spki = read(subject.rest)?;
        if issuer.tag != SEQUENCE || spki.tag != SEQUENCE {
            bail!("no issuer or key");
        }
        let key_algorithm = read(spki.value)?;
        let bits = read(key_algorithm.rest)?;
        match bits.value.split_first() {
            Some((0, public_key)) if bits.tag == 0x03 => Ok(CertificateParts {
                serial: serial.whole,
                issuer: issuer.whole,
                public_key,
            }),
            _ => bail!("no public key"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_definite_and_minimal() {
        assert_eq!(tlv(OCTET_STRING, &[1, 2]), vec![4, 2, 1, 2]);
        let long = tlv(OCTET_STRING, &[0; 200]);
        assert_eq!(&long[..3], &[4, 0x81, 200]);
        let longer = tlv(OCTET_STRING, &[0; 70_000]);
        assert_eq!(&longer[..5], &[4, 0x83, 0x01, 0x11, 0x70]);
        let e = read(&longer).unwrap();
        assert_eq!(
            (e.tag, e.whole.len(), e.value.len(), e.rest.len()),
            (4, 70_005, 70_000, 0)
        );
    }

    #[test]
    fn reading_refuses_what_does_not_fit() {
        assert!(read(&[4, 5, 1]).is_err());
        assert!(read(&[4, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(read(&[4]).is_err());
        assert!(CertificateParts::parse(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
    }

    #[test]
    fn signing_time_is_utc_time_until_2049() {
        assert_eq!(signing_time(0).unwrap(), tlv(UTC_TIME, b"700101000000Z"));
        assert_eq!(
            signing_time(2_524_608_000).unwrap(),
            tlv(GENERALIZED_TIME, b"20500101000000Z")
        );
    }
}
