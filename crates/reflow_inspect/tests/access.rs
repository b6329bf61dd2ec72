//! Only a page that has the token, from a loopback origin and host, gets anything but a 403.

use super::support::{inspector, network, parts, request};

#[test]
fn requests_without_the_token_or_from_another_site_are_refused() {
    let network = network();
    let inspector = inspector(&network);
    let (addr, token) = parts(&inspector.url());
    let (ok, page) = request(&addr, "GET", &format!("/?token={token}"), &addr, &[]);
    assert_eq!(ok, 200, "{page}");
    assert!(page.contains("<title>Reflow inspector</title>") && page.contains("frame-ancestors 'none'"), "{page}");
    let (ok, _) = request(&addr, "GET", &format!("/?token={token}"), &addr, &["Origin: http://localhost:1234"]);
    assert_eq!(ok, 200, "a loopback page may ask");

    // The token with its last character changed (to one it is not: a `0` kept would be the token).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &token[..token.len() - 1]);
    for (what, target, host, extra) in [
        ("no token", "/".to_string(), addr.clone(), vec![]),
        ("no token, events", "/events".to_string(), addr.clone(), vec![]),
        ("a wrong token", format!("/events?token={wrong}"), addr.clone(), vec![]),
        ("an empty token", "/events?token=".to_string(), addr.clone(), vec![]),
        ("a select without the token", "/select?viewer=1&edge=0".to_string(), addr.clone(), vec![]),
        ("another site's page", format!("/events?token={token}"), addr.clone(), vec!["Origin: http://evil.example"]),
        ("another site's page, the page", format!("/?token={token}"), addr.clone(), vec!["Origin: https://evil.example"]),
        ("a sandboxed frame", format!("/events?token={token}"), addr.clone(), vec!["Origin: null"]),
        ("a rebound host name", format!("/events?token={token}"), "rebind.evil.example:80".to_string(), vec![]),
    ] {
        let method = if target.starts_with("/select") { "POST" } else { "GET" };
        let (code, text) = request(&addr, method, &target, &host, &extra);
        assert_eq!(code, 403, "{what}: {text}");
        assert!(!text.contains("event:") && !text.contains("<title>"), "{what} got content: {text}");
    }
    // Not a request at all: answered, and the server goes on.
    let (code, _) = request(&addr, "NOT HTTP", "", &addr, &[]);
    assert_eq!(code, 400);
    let (code, _) = request(&addr, "GET", &format!("/nothing?token={token}"), &addr, &[]);
    assert_eq!(code, 404);
    let (code, text) = request(&addr, "POST", &format!("/select?token={token}&viewer=99&edge=0"), &addr, &[]);
    assert_eq!(code, 400, "an unknown viewer: {text}");
}
