//! Every migration reverts cleanly: up → down → up on the suite's backend (SQLite, or
//! PostgreSQL when `CALLPRO_TEST_POSTGRES_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use callpro_api::db::{self, Db};

#[test]
fn migrations_go_up_down_and_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _pg) = common::test_config(dir.path());
    let db = Db::connect(&config.database).unwrap();
    let mut conn = db.get().unwrap();
    let up = db::run_migrations(&mut conn).unwrap();
    assert!(up >= 1);
    let down = db::revert_all_migrations(&mut conn).unwrap();
    assert_eq!(down, up);
    assert_eq!(db::run_migrations(&mut conn).unwrap(), up);
    assert_eq!(
        db::run_migrations(&mut conn).unwrap(),
        0,
        "nothing left to apply"
    );
}
