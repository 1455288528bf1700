//! `TestApp`: the server on port 0 over a fresh database, with one account and API token per
//! role, a person with a card in use, and helpers. (zero2prod-style black-box harness.)

#![allow(dead_code, unreachable_pub)]

pub mod browser;

use std::collections::HashMap;
use std::net::SocketAddr;

use sscard_core::{ApplicationSource, BusinessType, Role};
use sscard_ids::{CardNumber, CreditCode, PersonName, RegionCode, ResidentId};
use sscard_server::{AppState, ServerConfig};
use sscard_store::{ApplyRequest, Ctx, NewStaff, PersonInput, Store, StoreOptions};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub tokens: HashMap<Role, String>,
    /// A person of the demo employer, with a card in use.
    pub person_id: ResidentId,
    pub person_uuid: String,
    pub card: CardNumber,
    /// A person of no employer, with a card in use.
    pub other_id: ResidentId,
    pub other_card: CardNumber,
    _dir: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub fn employer_code() -> CreditCode {
    CreditCode::from_body("91321200MA1MXK8P0").unwrap()
}

pub fn id(n: u16) -> ResidentId {
    ResidentId::from_parts(
        RegionCode::parse("321202").unwrap(),
        chrono::NaiveDate::from_ymd_opt(1988, 8, 8).unwrap(),
        n,
    )
    .unwrap()
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("app.db").display());
        let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
        Self::start(store, Some(dir)).await
    }

    /// On a fresh database of the PostgreSQL server at `SSCARD_TEST_PG_URL`; `None` (after
    /// printing why) when it is not set outside CI.
    pub async fn postgres() -> Option<TestApp> {
        let url = sscard_store::testing::fresh_postgres_url().await?;
        let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
        Some(Self::start(store, None).await)
    }

    pub async fn start(store: Store, dir: Option<tempfile::TempDir>) -> TestApp {
        let ctx = Ctx::system("test:setup");
        store
            .register_employer(
                &ctx,
                &employer_code(),
                "测试电子厂",
                RegionCode::parse("321203").unwrap(),
            )
            .await
            .unwrap();
        store
            .upsert_outlet(
                &ctx,
                &sscard_store::Outlet {
                    code: "TZ-HL-01".into(),
                    name_zh: "海陵区服务中心".into(),
                    name_en: "Hailing".into(),
                    region: "321202".into(),
                    kind: "outlet".into(),
                    employer_id: None,
                },
            )
            .await
            .unwrap();
        let hash = sscard_server::auth::hash_password(PASSWORD);
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let staff = NewStaff {
                username: role.as_str().into(),
                display_name: format!("测试 {}", role.zh()),
                role,
                outlet: (role == Role::Clerk).then(|| "TZ-HL-01".into()),
                employer: (role == Role::EmployerAgent).then(employer_code),
                bank_code: (role == Role::Bank).then(|| "105".into()),
                password_hash: hash.clone(),
            };
            store.create_staff(&ctx, &staff).await.unwrap();
            let token = sscard_server::auth::new_token();
            store
                .create_api_token(
                    &ctx,
                    role.as_str(),
                    "test",
                    &sscard_server::auth::token_hash(&token),
                )
                .await
                .unwrap();
            tokens.insert(role, token);
        }
        let (person_id, card) = Self::card_in_use(&store, id(101), Some(employer_code())).await;
        let (other_id, other_card) = Self::card_in_use(&store, id(202), None).await;
        let person_uuid = store
            .person(&sscard_store::Ctx::system("system:test"), &person_id)
            .await
            .unwrap()
            .id
            .to_string();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = AppState::new(store.clone(), ServerConfig::default())
            .with_exchange_keys(sscard_import::production::ExchangeKeys::demo());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            sscard_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            addr,
            store,
            tokens,
            person_id,
            person_uuid,
            card,
            other_id,
            other_card,
            _dir: dir,
            _shutdown: tx,
        }
    }

    async fn card_in_use(
        store: &Store,
        id: ResidentId,
        employer: Option<CreditCode>,
    ) -> (ResidentId, CardNumber) {
        let ctx = Ctx::system("test:setup");
        let mut person = PersonInput::new(id, PersonName::parse("张三丰").unwrap());
        person.employer = employer;
        person.workshop = Some("SMT一车间".into());
        let req = ApplyRequest {
            person,
            bank: "CCB".into(),
            kind: BusinessType::New,
            source: ApplicationSource::Individual,
            instant: true,
            outlet: None,
        };
        let card = store.apply(&ctx, &req).await.unwrap().card_number.unwrap();
        store.hand_over(&ctx, &card).await.unwrap();
        store.activate_ss(&ctx, &card).await.unwrap();
        (id, card)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// A request as `role` (None: anonymous).
    pub fn request(
        &self,
        role: Option<Role>,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let mut r = Self::client().request(method, self.url(path));
        if let Some(role) = role {
            r = r.bearer_auth(&self.tokens[&role]);
        }
        r
    }
}

/// Runs an async test body against the app on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::common::TestApp::sqlite().await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::common::TestApp::postgres().await else {
                    return;
                };
                $body
            }
        }
    };
}

/// A browser-like client signed in to the console as `user` (cookies kept).
pub async fn login(app: &TestApp, user: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(app.url("/console/login"))
        .form(&[("username", user), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    client
}

/// The CSRF token of the first form on a console page.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}
