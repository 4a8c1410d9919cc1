use crate::common;

use common::TestApp;

#[test]
fn health_answers_in_the_envelope() {
    let app = TestApp::start();
    let resp = app.get("/healthz", None);
    resp.expect(200);
    assert_eq!(resp.data()["status"], "ok");
}
