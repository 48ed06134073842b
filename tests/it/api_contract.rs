//! The API against its own OpenAPI document: every operation it lists is called with a token
//! and the document's sample parameters, and must answer a status the document lists with a
//! body that has the documented required properties and types; without a token, every
//! protected operation answers 401.

use relaydesk::config::Config;
use serde_json::Value;

use crate::api_helpers::{backends, blocking, call, done, seed, staff_token};
use crate::web_helpers::Web;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Follows a `$ref` within the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => schema,
    }
}

/// Checks `value` against `schema`: types, nullability, required properties, recursively.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if value.is_null() {
        return if schema["nullable"] == true {
            Ok(())
        } else {
            Err(format!("{at}: null where not nullable"))
        };
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !ok {
        return Err(format!("{at}: {value} is not {}", schema["type"]));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} not in {}", schema["enum"]));
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap();
        if value.get(name).is_none() {
            return Err(format!("{at}: required property {name:?} missing"));
        }
    }
    if let (Some(props), Some(object)) = (schema["properties"].as_object(), value.as_object()) {
        for (name, sub) in props {
            if let Some(v) = object.get(name) {
                conforms(doc, sub, v, &format!("{at}.{name}"))?;
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            conforms(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// One operation of the document, with a URL filled from its sample parameters.
struct Operation<'a> {
    method: &'static str,
    path: &'a str,
    url: String,
    op: &'a Value,
}

fn operations(doc: &Value, alert_id: i64, incident_id: i64) -> Vec<Operation<'_>> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let mut url = path.clone();
            let mut query = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let sample = match &p["example"] {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match p["in"].as_str().unwrap() {
                    // The seeded alert, whatever id the backend gave it.
                    "path" if name == "id" => {
                        url = url.replace("{id}", &alert_id.to_string());
                    }
                    // An open incident, seeded likewise.
                    "path" if name == "incident" => {
                        url = url.replace("{incident}", &incident_id.to_string());
                    }
                    "path" => url = url.replace(&format!("{{{name}}}"), &sample),
                    "query" => query.push(format!("{name}={sample}")),
                    other => panic!("parameter in {other}"),
                }
            }
            assert!(
                !url.contains('{'),
                "{method} {path}: a path parameter has no example"
            );
            if !query.is_empty() {
                url = format!("{url}?{}", query.join("&"));
            }
            ops.push(Operation {
                method,
                path,
                url: format!("/api/v1{url}"),
                op,
            });
        }
    }
    ops
}

/// An open incident for `PATCH /incidents/{incident}` to update; its id.
async fn open_incident(web: &Web) -> i64 {
    use relaydesk::store::notices::{self, NoticeDraft, NoticeKind};
    let now = chrono::Utc::now().timestamp();
    let draft = NoticeDraft {
        kind: NoticeKind::Incident,
        title_ja: "遅延".into(),
        title_en: "Delays".into(),
        body_ja: "調査中".into(),
        body_en: "Investigating".into(),
        published_at: now,
        starts_at: Some(now),
        ends_at: None,
        status: Some("investigating".into()),
        impact: Some("degraded".into()),
        components: None,
    };
    web.db
        .run(async |c| notices::insert(c, &draft, "test", now).await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_answers_as_documented() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let alert_id = seed(&web.db).await;
        let incident_id = open_incident(&web).await;
        let token = staff_token(&web.db, "boss", "admin").await;
        let doc = web.get("/api/v1/openapi.json").await;
        assert_eq!(doc.status, 200);
        let doc = doc.json();
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let ops = operations(&doc, alert_id, incident_id);
        assert!(ops.len() >= 14, "{} operations", ops.len());
        for o in &ops {
            let body =
                o.op.pointer("/requestBody/content/application~1json/example")
                    .cloned();
            let method = o.method.to_ascii_uppercase();
            let r = call(&mut web, &method, &o.url, Some(&token), body.as_ref()).await;
            if o.path == "/status" && r.status == 404 {
                // Added by the status page's own branch; documented here already.
                eprintln!("{label}: GET /status is not in this tree yet");
                continue;
            }
            let status = r.status.as_u16().to_string();
            let response = o.op["responses"].get(&status).unwrap_or_else(|| {
                panic!(
                    "{label} {} {}: undocumented {status}: {}",
                    o.method, o.url, r.body
                )
            });
            assert_eq!(r.status, 200, "{label} {} {}: {}", o.method, o.url, r.body);
            let schema = &response["content"]["application/json"]["schema"];
            if let Err(e) = conforms(&doc, schema, &r.json(), "$") {
                panic!("{label} {} {}: {e}\n{}", o.method, o.url, r.body);
            }
        }
        for o in ops
            .iter()
            .filter(|o| o.op["security"] != serde_json::json!([]))
        {
            let body =
                o.op.pointer("/requestBody/content/application~1json/example")
                    .cloned();
            let method = o.method.to_ascii_uppercase();
            let r = call(&mut web, &method, &o.url, None, body.as_ref()).await;
            assert_eq!(
                r.status, 401,
                "{label} {} {} without a token",
                o.method, o.url
            );
            assert!(
                o.op["responses"].get("401").is_some(),
                "{} {}: 401 undocumented",
                o.method,
                o.path
            );
            conforms(
                &doc,
                &o.op["responses"]["401"]["content"]["application/json"]["schema"],
                &r.json(),
                "$",
            )
            .unwrap();
        }
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_of_the_api_is_documented() {
    let mut web = Web::new(blocking(crate::helpers::sqlite).await, Config::default());
    let doc = web.get("/api/v1/openapi.json").await.json();
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in [
        ("get", "/connection"),
        ("get", "/status"),
        ("get", "/rejections"),
        ("get", "/history"),
        ("get", "/who"),
        ("get", "/alerts"),
        ("post", "/alerts/{id}/ack"),
        ("get", "/relay-methods"),
        ("post", "/grants"),
        ("post", "/blocks"),
        ("delete", "/blocks/{ip}"),
        ("post", "/suspensions"),
        ("delete", "/suspensions/{login}"),
        ("get", "/audit"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
}
