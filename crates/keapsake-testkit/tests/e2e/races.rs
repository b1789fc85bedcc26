//! SECURITY.md §2 figures: single use under concurrency, rotation races, family revocation on a
//! late replay, and never a 5xx. Each scenario prints its figure line.

use keapsake_testkit::{Backend, TestServer};
use serde_json::Value;
use std::collections::BTreeMap;

fn tally(results: &[(u16, Value)]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (s, v) in results {
        let key = if *s == 200 {
            "200".to_string()
        } else {
            format!("{s} {}", v["error"].as_str().unwrap_or("?"))
        };
        *m.entry(key).or_default() += 1;
    }
    m
}

async fn twenty_parallel_exchanges_of_one_code(backend: Backend) {
    let srv = std::sync::Arc::new(TestServer::start(backend).await);
    let code = srv.authorize(&srv.app, &srv.user).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let srv = srv.clone();
        let code = code.clone();
        tasks.push(tokio::spawn(
            async move { srv.exchange(&srv.app, &code).await },
        ));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let t = tally(&results);
    println!("FIGURE [{backend:?}] 20 parallel exchanges of one code -> {t:?}");
    assert_eq!(t.get("200"), Some(&1), "{t:?}");
    assert_eq!(t.get("400 invalid_grant"), Some(&19), "{t:?}");
    assert!(results.iter().all(|(s, _)| *s < 500));

    // The replays revoked what the code issued: the winner's access token no longer works.
    let winner = results.iter().find(|(s, _)| *s == 200).unwrap();
    let r = reqwest::Client::new()
        .get(srv.at("crm/rest/v1/oauth/connect/userinfo"))
        .bearer_auth(winner.1["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "a replayed code revokes every token it issued"
    );
}
on_both_stores!(twenty_parallel_exchanges_of_one_code);

async fn hundred_parallel_refreshes_of_one_token(backend: Backend) {
    let srv = std::sync::Arc::new(TestServer::start(backend).await);
    let code = srv.authorize(&srv.app, &srv.user).await;
    let (_, tok) = srv.exchange(&srv.app, &code).await;
    let rt = tok["refresh_token"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let srv = srv.clone();
        let rt = rt.clone();
        tasks.push(tokio::spawn(
            async move { srv.refresh(&srv.app, &rt).await },
        ));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let t = tally(&results);
    println!("FIGURE [{backend:?}] 100 parallel refreshes of one refresh token -> {t:?}");
    assert_eq!(t.get("200"), Some(&1), "{t:?}");
    assert_eq!(t.get("400 invalid_grant"), Some(&99), "{t:?}");
    let fivexx = results.iter().filter(|(s, _)| *s >= 500).count();
    println!("FIGURE [{backend:?}] 5xx responses in the race: {fivexx}");
    assert_eq!(fivexx, 0);

    // Inside the grace window the winner's new pair survives the losers.
    let winner = results.iter().find(|(s, _)| *s == 200).unwrap().1.clone();
    let at = winner["access_token"].as_str().unwrap();
    let userinfo = || {
        reqwest::Client::new()
            .get(srv.at("crm/rest/v1/oauth/connect/userinfo"))
            .bearer_auth(at)
            .send()
    };
    assert_eq!(userinfo().await.unwrap().status(), 200);

    // A replay after the grace window revokes the whole family: the winner's RT and AT die too.
    srv.clock.advance(time::Duration::seconds(61));
    let (s, _) = srv.refresh(&srv.app, &rt).await;
    assert_eq!(s, 400);
    assert_eq!(
        userinfo().await.unwrap().status(),
        401,
        "winner's access token revoked"
    );
    let (s, body) = srv
        .refresh(&srv.app, winner["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "winner's refresh token revoked"
    );
    println!(
        "FIGURE [{backend:?}] late replay of a rotated refresh token -> family revoked (winner RT and AT rejected)"
    );
}
on_both_stores!(hundred_parallel_refreshes_of_one_token);

async fn a_code_presented_by_another_client_stays_usable_by_its_owner(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let other = srv
        .add_app(
            &format!("other-{}", keapsake_testkit::unique_suffix()),
            &srv.app.redirect_uri,
        )
        .await;
    let code = srv.authorize(&srv.app, &srv.user).await;
    let mut thief = other.clone();
    thief.redirect_uri = srv.app.redirect_uri.clone();
    let (s, v) = srv.exchange(&thief, &code).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = srv.exchange(&srv.app, &code).await;
    assert_eq!(s, 200);
}
on_both_stores!(a_code_presented_by_another_client_stays_usable_by_its_owner);
