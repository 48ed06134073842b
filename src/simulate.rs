//! A simulated ISP mail log.
