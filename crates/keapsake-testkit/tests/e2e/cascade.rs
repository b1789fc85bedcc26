//! Deleting a contact deletes its notes and tasks (rest-v1.md §1.7), and nothing of another
//! contact.

use keapsake_testkit::{Backend, TestServer};
use serde_json::{Value, json};

async fn deleting_a_contact_deletes_its_notes_and_tasks(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let code = srv.authorize(&srv.app, &srv.user).await;
    let (_, tok) = srv.exchange(&srv.app, &code).await;
    let at = tok["access_token"].as_str().unwrap().to_string();
    let c = reqwest::Client::new();
    let post = |path: &str, body: Value| c.post(srv.at(path)).bearer_auth(&at).json(&body).send();
    let mut contacts = Vec::new();
    for e in ["gone@example.com", "kept@example.com"] {
        let r = post(
            "crm/rest/v1/contacts",
            json!({"email_addresses":[{"email":e,"field":"EMAIL1"}]}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        contacts.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let mut notes = Vec::new();
    let mut tasks = Vec::new();
    for id in &contacts {
        let n = post(
            "crm/rest/v1/notes",
            json!({"contact_id": id, "title": "n", "body": "b"}),
        )
        .await
        .unwrap();
        assert_eq!(n.status(), 201);
        notes.push(n.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
        let t = post(
            "crm/rest/v1/tasks",
            json!({"title": "t", "due_date": "2030-01-01T00:00:00.000Z", "contact": {"id": id}}),
        )
        .await
        .unwrap();
        assert_eq!(t.status(), 200);
        tasks.push(t.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let r = c
        .delete(srv.at(&format!("crm/rest/v1/contacts/{}", contacts[0])))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let status = |path: String| {
        let c = c.clone();
        let at = at.clone();
        async move {
            c.get(path)
                .bearer_auth(at)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        status(srv.at(&format!("crm/rest/v1/notes/{}", notes[0]))).await,
        404
    );
    assert_eq!(
        status(srv.at(&format!("crm/rest/v1/tasks/{}", tasks[0]))).await,
        404
    );
    assert_eq!(
        status(srv.at(&format!("crm/rest/v1/notes/{}", notes[1]))).await,
        200,
        "another contact's note stays"
    );
    assert_eq!(
        status(srv.at(&format!("crm/rest/v1/tasks/{}", tasks[1]))).await,
        200,
        "another contact's task stays"
    );
}
on_both_stores!(deleting_a_contact_deletes_its_notes_and_tasks);
