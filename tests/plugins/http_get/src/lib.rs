//! Makes an HTTP GET request through Extism's `http_request` to `config.url` for each message
//! on `in`, and returns the response body on `body` (and the status on `status`). The host
//! refuses the request unless the process is granted the URL's host.

use extism_pdk::HttpRequest;
use reflow_wasm::*;
use std::collections::HashMap;

fn metadata() -> PluginMetadata {
    PluginMetadata {
        component: "HttpGet".to_string(),
        description: "GETs config.url".to_string(),
        inports: vec![port_def!("in", "makes one request", "Any")],
        outports: vec![port_def!("body", "the response body", "String"), port_def!("status", "the HTTP status", "Integer")],
        config_schema: None,
    }
}

fn process(context: ActorContext) -> Result<ActorResult, String> {
    let url = context.config.config.get("url").and_then(|v| v.as_str()).ok_or("config.url is missing")?;
    let response = extism_pdk::http::request::<()>(&HttpRequest::new(url), None).map_err(|e| format!("GET {url}: {e}"))?;
    let body = String::from_utf8_lossy(&response.body()).into_owned();
    let outputs = HashMap::from([
        ("body".to_string(), Message::String(body)),
        ("status".to_string(), Message::Integer(response.status_code() as i64)),
    ]);
    Ok(ActorResult { outputs, state: None })
}

actor_plugin!(metadata: metadata(), process: process);
