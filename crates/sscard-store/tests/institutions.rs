//! The institution registry on both backends: whole-list registration, updates by code, and
//! the centre's scope checked inside the store.

mod common;

use common::{ctx, t0};
use sscard_core::{Actor, Role, Scope};
use sscard_ids::{InstitutionCode, RegionCode};
use sscard_store::{Ctx, InstitutionInput, StoreError};

fn input(code: &str, name: &str, level: Option<u8>, networked: bool) -> InstitutionInput {
    let code = InstitutionCode::parse(code).unwrap();
    InstitutionInput {
        region: code.region(),
        code,
        name: name.into(),
        level,
        networked,
    }
}

contract!(registry, |db| {
    let store = &db.store;
    let list = [
        input("H32120200001", "泰州市人民医院", Some(3), true),
        input("P32120400017", "海陵大药房", None, false),
    ];
    let done = store.register_institutions(&ctx(), &list).await.unwrap();
    assert_eq!((done.added, done.updated, done.unchanged), (2, 0, 0));
    let mut again = list.clone();
    again[1].networked = true;
    let done = store.register_institutions(&ctx(), &again).await.unwrap();
    assert_eq!((done.added, done.updated, done.unchanged), (0, 1, 1));

    let all = store.institutions(&ctx()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].code, "H32120200001");
    assert_eq!(all[0].level, Some(3));
    assert_eq!(all[1].kind, "pharmacy");
    assert!(all[1].networked);
    assert_eq!(
        (all[1].terminals, all[1].ready, all[1].status.as_str()),
        (0, 0, "active")
    );
    assert_eq!(
        all[0].region,
        RegionCode::parse("321202").unwrap().to_string()
    );

    // A bank's account may not register an institution, whatever door it comes through.
    let bank = Ctx::at(
        Actor::new("bank:icbc", Role::Bank, Scope::Bank("ICBC".into())),
        t0(),
    );
    let err = store
        .register_institutions(&bank, &[input("H32120200009", "某医院", Some(1), false)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OutOfScope(_)), "{err:?}");
    assert_eq!(store.institutions(&ctx()).await.unwrap().len(), 2);
    assert!(store.verify_audit().await.unwrap().ok());
});
