//! XML-RPC faults never echo the key (SECURITY.md §3, §7): the legacy key travels in the request
//! body, so every fault path that can be triggered with it in the body — bad XML around it, an
//! unknown or refused key, unknown methods, wrong arity and types, unknown tables and fields,
//! values of the wrong type, missing records, a header credential next to the key parameter, the
//! key itself in a value position — answers without the key or any 12-character piece of it.

use keapsake_core::store::{KeyKind, NewApiKey};
use keapsake_core::{Clock as _, Secret};
use keapsake_testkit::{Backend, TestServer};

/// Extra request headers of one case.
type Headers = Vec<(&'static str, String)>;

fn call(method: &str, params: &[String]) -> String {
    let ps: String = params
        .iter()
        .map(|p| format!("<param><value>{p}</value></param>"))
        .collect();
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName><params>{ps}</params></methodCall>"
    )
}

fn s(v: &str) -> String {
    format!("<string>{v}</string>")
}

fn st(members: &[(&str, String)]) -> String {
    let m: String = members
        .iter()
        .map(|(n, v)| format!("<member><name>{n}</name><value>{v}</value></member>"))
        .collect();
    format!("<struct>{m}</struct>")
}

async fn xmlrpc_faults_never_echo_the_key(backend: Backend) {
    // Arrange: a valid legacy key and a well-formed key that is not valid.
    let srv = TestServer::start(backend).await;
    let key = Secret::generate_hex("", 16);
    srv.store
        .create_api_key(NewApiKey {
            hash: key.hash(),
            display_prefix: format!("{}…", &key.expose()[..4]),
            name: "legacy".into(),
            kind: KeyKind::Legacy,
            account_id: srv.account.id,
            user_id: None,
            read_only: false,
            created_at: srv.clock.now(),
            expires_at: None,
        })
        .await
        .unwrap();
    let k = key.expose().to_owned();
    let bad = Secret::generate_hex("", 16).expose().to_owned();
    let sk = s(&k);
    let mut bodies: Vec<(String, Headers, String)> = Vec::new();
    let mut add = |what: &str, body: String| bodies.push((what.to_owned(), vec![], body));
    // The key parameter itself.
    add(
        "unknown key",
        call(
            "ContactService.add",
            &[s(&bad), st(&[("FirstName", s("A"))])],
        ),
    );
    add(
        "key as int",
        call("ContactService.add", &[format!("<int>{k}</int>")]),
    );
    add(
        "key as base64",
        call("ContactService.add", &[format!("<base64>{k}!</base64>")]),
    );
    add(
        "key as struct member",
        call("ContactService.add", &[st(&[("key", sk.clone())])]),
    );
    add(
        "key only",
        call("ContactService.add", std::slice::from_ref(&sk)),
    );
    add(
        "key with spaces",
        call("ContactService.add", &[s(&format!(" {k}\t"))]),
    );
    add(
        "key too long",
        call("ContactService.add", &[s(&format!("{k}{k}{k}"))]),
    );
    // Calls that fault after a valid key.
    add(
        "unknown method",
        call("NoService.nothing", std::slice::from_ref(&sk)),
    );
    add(
        "wrong arity",
        call("ContactService.load", &[sk.clone(), "<int>1</int>".into()]),
    );
    add(
        "wrong type",
        call("ContactService.load", &[sk.clone(), s("x"), s("y")]),
    );
    add(
        "missing record",
        call(
            "ContactService.load",
            &[
                sk.clone(),
                "<int>999999</int>".into(),
                "<array><data><value>Id</value></data></array>".into(),
            ],
        ),
    );
    add(
        "unknown table",
        call(
            "DataService.query",
            &[
                sk.clone(),
                s("Nope"),
                "<int>10</int>".into(),
                "<int>0</int>".into(),
                st(&[("Id", s("%"))]),
                "<array><data><value>Id</value></data></array>".into(),
            ],
        ),
    );
    add(
        "unknown field",
        call(
            "ContactService.add",
            &[sk.clone(), st(&[("NoSuchField", s("x"))])],
        ),
    );
    add(
        "bad value type",
        call(
            "ContactService.add",
            &[sk.clone(), st(&[("FirstName", st(&[]))])],
        ),
    );
    add(
        "key as a value",
        call(
            "ContactService.add",
            &[sk.clone(), st(&[("Email", sk.clone())])],
        ),
    );
    add(
        "key as an id",
        call(
            "ContactService.load",
            &[
                sk.clone(),
                sk.clone(),
                "<array><data><value>Id</value></data></array>".into(),
            ],
        ),
    );
    add(
        "key in a query",
        call(
            "DataService.query",
            &[
                sk.clone(),
                s("Contact"),
                "<int>10</int>".into(),
                "<int>0</int>".into(),
                st(&[("Id", sk.clone())]),
                "<array><data><value>Id</value></data></array>".into(),
            ],
        ),
    );
    add(
        "key as a date",
        call(
            "ContactService.add",
            &[
                sk.clone(),
                st(&[(
                    "Birthday",
                    format!("<dateTime.iso8601>{k}</dateTime.iso8601>"),
                )]),
            ],
        ),
    );
    add(
        "key as a double",
        call(
            "ContactService.add",
            &[
                sk.clone(),
                st(&[("FirstName", format!("<double>{k}</double>"))]),
            ],
        ),
    );
    add(
        "key as a boolean",
        call(
            "ContactService.add",
            &[
                sk.clone(),
                st(&[("FirstName", format!("<boolean>{k}</boolean>"))]),
            ],
        ),
    );
    add(
        "key in an id array",
        call(
            "DataService.query",
            &[
                sk.clone(),
                s("Contact"),
                "<int>10</int>".into(),
                "<int>0</int>".into(),
                st(&[(
                    "Id",
                    format!("<array><data><value>{k}</value></data></array>"),
                )]),
                "<array><data><value>Id</value></data></array>".into(),
            ],
        ),
    );
    add(
        "key as limit",
        call(
            "DataService.query",
            &[
                sk.clone(),
                s("Contact"),
                sk.clone(),
                "<int>0</int>".into(),
                st(&[]),
                "<array><data><value>Id</value></data></array>".into(),
            ],
        ),
    );
    add(
        "key as dataType",
        call(
            "DataService.addCustomField",
            &[sk.clone(), s("Contact"), s("x"), sk.clone(), s("Header")],
        ),
    );
    add(
        "key as setting",
        call(
            "DataService.getAppSetting",
            &[sk.clone(), s("Contact"), sk.clone()],
        ),
    );
    // The key where a name is expected (faults name the unknown method, table, field, setting).
    add(
        "key as method",
        call(&format!("ContactService.{k}"), std::slice::from_ref(&sk)),
    );
    add(
        "key as service",
        call(&format!("{k}.add"), std::slice::from_ref(&sk)),
    );
    add(
        "key as table",
        call(
            "DataService.query",
            &[
                sk.clone(),
                sk.clone(),
                "<int>10</int>".into(),
                "<int>0</int>".into(),
                st(&[]),
                "<array><data><value>Id</value></data></array>".into(),
            ],
        ),
    );
    add(
        "key as field name",
        call(
            "ContactService.add",
            &[sk.clone(), st(&[(k.as_str(), s("x"))])],
        ),
    );
    add(
        "key in a field list",
        call(
            "ContactService.load",
            &[
                sk.clone(),
                "<int>1</int>".into(),
                format!("<array><data><value>{k}</value></data></array>"),
            ],
        ),
    );
    add(
        "key as module",
        call(
            "DataService.getAppSetting",
            &[sk.clone(), sk.clone(), s("x")],
        ),
    );
    // Commerce (§4.4–§4.6): the key where ids, codes, names and texts go.
    add(
        "key as an invoice id",
        call(
            "InvoiceService.calculateAmountOwed",
            &[sk.clone(), sk.clone()],
        ),
    );
    add(
        "key as a payment type",
        call(
            "InvoiceService.addManualPayment",
            &[
                sk.clone(),
                "<int>1</int>".into(),
                "<double>1.0</double>".into(),
                s("2027-01-01 00:00:00"),
                sk.clone(),
                s("x"),
                "<boolean>0</boolean>".into(),
            ],
        ),
    );
    add(
        "key as products and promo codes",
        call(
            "OrderService.placeOrder",
            &[
                sk.clone(),
                "<int>1</int>".into(),
                "<int>0</int>".into(),
                "<int>0</int>".into(),
                format!("<array><data><value>{k}</value></data></array>"),
                "<array><data></data></array>".into(),
                "<boolean>0</boolean>".into(),
                format!("<array><data><value>{k}</value></data></array>"),
            ],
        ),
    );
    add(
        "key as a Job field and value",
        call(
            "DataService.update",
            &[
                sk.clone(),
                s("Job"),
                "<int>1</int>".into(),
                st(&[(k.as_str(), s("x")), ("OrderType", sk.clone())]),
            ],
        ),
    );
    add(
        "key as an order type",
        call(
            "DataService.update",
            &[
                sk.clone(),
                s("Job"),
                "<int>1</int>".into(),
                st(&[("OrderType", sk.clone())]),
            ],
        ),
    );
    add(
        "key as an inventory quantity",
        call(
            "ProductService.increaseInventory",
            &[sk.clone(), "<int>1</int>".into(), sk.clone()],
        ),
    );
    // Broken XML around the key.
    let whole = call(
        "ContactService.add",
        &[sk.clone(), st(&[("FirstName", s("A"))])],
    );
    for cut in [40, 120, 150, 170, whole.len() - 20] {
        add("truncated", whole[..cut.min(whole.len())].to_owned());
    }
    add(
        "unknown entity",
        whole.replace("<string>A</string>", &format!("<string>&{k};</string>")),
    );
    add(
        "doctype",
        format!("<!DOCTYPE x [<!ENTITY e \"{k}\">]>{whole}"),
    );
    add(
        "mismatched tag",
        whole.replace(&format!("{k}</string>"), &format!("{k}</strin>")),
    );
    add(
        "key as a tag",
        whole.replace("<string>A</string>", &format!("<k{k}>A</k{k}>")),
    );
    add(
        "key in an attribute",
        whole.replace("<string>A", &format!("<string a=\"{k}\">A")),
    );
    add(
        "invalid UTF-8 next to the key",
        whole.replace("<string>A</string>", "<string>\u{fffd}</string>"),
    );
    add(
        "bad char ref",
        whole.replace("<string>A</string>", &format!("<string>&#x{k};</string>")),
    );
    add(
        "no methodName",
        whole.replace("<methodName>ContactService.add</methodName>", ""),
    );
    add("two methodCalls", format!("{whole}{whole}"));
    add(
        "deep",
        format!(
            "{}{}",
            whole.replace(
                "</params>",
                &"<param><value><array><data><value>".repeat(40)
            ),
            "x"
        ),
    );
    let mut bodies_bytes: Vec<(String, Vec<u8>, Headers)> = bodies
        .into_iter()
        .map(|(w, h, b)| (w, b.into_bytes(), h))
        .collect();
    // Raw invalid UTF-8 right after the key.
    let mut raw = whole.clone().into_bytes();
    let at = raw
        .windows(k.len())
        .position(|w| w == k.as_bytes())
        .unwrap()
        + k.len();
    raw.splice(at..at, [0xff, 0xfe]);
    bodies_bytes.push(("invalid UTF-8 bytes".into(), raw, vec![]));
    // A header credential next to the key parameter: the header decides (SECURITY.md §5).
    bodies_bytes.push((
        "bad header + key param".into(),
        whole.clone().into_bytes(),
        vec![("X-Keap-API-Key", bad.clone())],
    ));
    bodies_bytes.push((
        "bearer + key param".into(),
        whole.clone().into_bytes(),
        vec![("Authorization", format!("Bearer {bad}"))],
    ));

    // Act + Assert
    let http = reqwest::Client::new();
    let pieces: Vec<&str> = (0..=k.len() - 12).map(|i| &k[i..i + 12]).collect();
    let (mut faults, mut leaks) = (0, Vec::new());
    for path in ["crm/xmlrpc/v1", "api/xmlrpc"] {
        for (what, body, headers) in &bodies_bytes {
            let mut rb = http
                .post(srv.at(path))
                .header("content-type", "text/xml")
                .body(body.clone());
            for (h, v) in headers {
                rb = rb.header(*h, v);
            }
            let r = rb.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            assert!(status < 500, "{what}: {status} {text}");
            if text.contains("<fault>") {
                faults += 1;
            }
            if pieces.iter().any(|p| text.contains(p)) || text.contains(&bad[..12]) {
                leaks.push(format!("{path} {what}: {status} {text}"));
            }
        }
    }
    for l in &leaks {
        eprintln!("ECHO: {l}");
    }
    println!(
        "FIGURE [{backend:?}] XML-RPC: {} requests carrying a key, {faults} faults, {} echo the key",
        bodies_bytes.len() * 2,
        leaks.len()
    );
    assert!(faults > 40, "the cases must actually fault");
    assert!(leaks.is_empty(), "{} answers echo the key", leaks.len());
}
on_both_stores!(xmlrpc_faults_never_echo_the_key);
