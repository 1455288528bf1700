//! 代发与银行: benefit payment batches (outcomes by status and by bank, every file, the rows not
//! paid with why) and a bank's side of the card (its cards by financial status, the status
//! exchange both ways). A bank's account sees its own bank only; the store checks it.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use sscard_core::Scope;
use sscard_store::bank::{PaymentBatchReport, Tally};

use super::extract::{ConsoleUser, need};
use super::{Page, error_page, layout};
use crate::AppState;
use crate::auth::Caller;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/payments", get(batches_page))
        .route("/console/payments/{batch}", get(batch_page))
        .route("/console/bank", get(bank_page))
}

fn ctx(caller: &Caller) -> sscard_store::Ctx {
    sscard_store::Ctx::now(caller.actor())
}

fn status_label(p: &Page, s: &str) -> &'static str {
    match s {
        "paid" => p.t("已发放", "paid"),
        "sent" => p.t("待银行回盘", "awaiting the bank"),
        "failed" => p.t("银行未入账", "failed at the bank"),
        "held" => p.t("暂停发放", "held"),
        "pending" => p.t("未发送", "not sent"),
        _ => p.t("其他", "other"),
    }
}

fn kind_names(k: sscard_core::PaymentKind) -> (&'static str, &'static str) {
    match k {
        sscard_core::PaymentKind::Pension => ("养老金", "pension"),
        sscard_core::PaymentKind::Unemployment => ("失业保险金", "unemployment benefit"),
        sscard_core::PaymentKind::Subsidy => ("补贴", "subsidy"),
    }
}

fn kind_label(p: &Page, k: sscard_core::PaymentKind) -> &'static str {
    let (zh, en) = kind_names(k);
    p.t(zh, en)
}

fn tally(t: &Tally) -> Markup {
    html! { (t.rows) " · " (t.amount) }
}

async fn batches_page(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadPayments>,
    Query(params): Query<super::lists::ListParams>,
) -> Response {
    let q = match params.query() {
        Ok(q) => q,
        Err(e) => return error_page(&p, &e),
    };
    let all = match st.store.payment_batches(&ctx(&caller)).await {
        Ok(l) => l,
        Err(e) => return error_page(&p, &e.into()),
    };
    // A handful of batches a month: filtered and cut into pages here.
    let kind = q.kind.as_deref();
    let text = q.text();
    let all: Vec<_> = all
        .into_iter()
        .filter(|b| kind.is_none_or(|k| b.kind.as_str() == k))
        .filter(|b| text.is_none_or(|t| b.period.contains(t) || b.batch_id.to_string() == t))
        .collect();
    let list = sscard_store::browse::ListPage::of(all, &q);
    let path = "/console/payments";
    let kinds = [
        sscard_core::PaymentKind::Pension,
        sscard_core::PaymentKind::Unemployment,
        sscard_core::PaymentKind::Subsidy,
    ]
    .into_iter()
    .map(|k| {
        let (zh, en) = kind_names(k);
        (k.as_str().to_owned(), zh.to_owned(), en.to_owned())
    })
    .collect();
    let title = p.t("代发批次", "Benefit payment batches");
    let body = html! {
        h1 { (title) }
        p { (p.t("养老金、失业保险金和补贴发放到持卡人当前社保卡的银行账户；每批按银行生成签名文件，银行回盘后对账。",
                 "Pensions, unemployment benefits and subsidies are paid to the holder's current card account; each send writes a signed file per bank, reconciled once the bank answers.")) }
        (super::lists::search_form(&p, path, &params, ("期间（如 2026-11）或批次号", "period (e.g. 2026-11) or batch number"), &[
            super::lists::Filter::Choice { name: "kind", zh: "类型", en: "Kind", options: kinds },
        ]))
        div.scroll { table #payment-batches {
            tr {
                th { (p.t("批次", "Batch")) } th { (p.t("类型", "Kind")) } th { (p.t("期间", "Period")) }
                th { (p.t("受理（行 · 元）", "Accepted (rows · yuan)")) }
                th { (p.t("已发放（行 · 元）", "Paid (rows · yuan)")) } th { (p.t("发送次数", "Sends")) }
            }
            @for b in &list.rows {
                tr {
                    td { a href=(format!("/console/payments/{}", b.batch_id)) { (b.batch_id) } }
                    td { (kind_label(&p, b.kind)) } td { (b.period) }
                    td { (tally(&b.accepted)) } td { (tally(&b.paid)) } td { (b.sends) }
                }
            }
        } }
        (super::lists::pager(&p, path, &params, &list))
        @if list.total == 0 {
            p #payments-empty { (p.t("还没有代发批次：sscard payment create …", "No payment batches yet: sscard payment create …")) }
        }
    };
    layout(&p, title, &body).into_response()
}

fn report_body(p: &Page, r: &PaymentBatchReport) -> Markup {
    html! {
        p #payment-summary {
            (kind_label(p, r.kind)) " " (r.period) " · "
            (p.t("受理", "accepted")) " " strong #f-accepted { (tally(&r.accepted)) } " · "
            (p.t("文件拒绝", "refused in the file")) " " (r.rejected.rows) " · "
            @if r.reconciled {
                strong #f-reconciled { (p.t("✓ 对账平衡", "✓ reconciled")) }
            } @else {
                strong #f-unreconciled { (p.t("✗ 对账不平", "✗ does not reconcile")) }
            }
        }
        h2 { (p.t("按状态", "By status")) }
        table #by-status {
            tr { th { (p.t("状态", "Status")) } th { (p.t("行", "Rows")) } th { (p.t("金额", "Amount")) } }
            @for (s, t) in &r.by_status {
                tr data-status=(s) { td { (status_label(p, s)) } td { (t.rows) } td { (t.amount) } }
            }
        }
        h2 { (p.t("按银行", "By bank")) }
        table #by-bank {
            tr {
                th { (p.t("银行", "Bank")) } th { (p.t("发送", "Sent")) } th { (p.t("已入账", "Paid")) }
                th { (p.t("未入账", "Failed")) } th { (p.t("待回盘", "Awaiting")) }
            }
            @for b in &r.by_bank {
                tr data-bank=(b.bank) {
                    td { (b.bank) } td { (tally(&b.sent)) } td { (tally(&b.paid)) }
                    td { (tally(&b.failed)) } td { (tally(&b.awaiting)) }
                }
            }
        }
        h2 { (p.t("文件", "Files")) }
        table #files {
            tr {
                th { (p.t("发送", "Send")) } th { (p.t("银行", "Bank")) } th { (p.t("行 · 元", "Rows · yuan")) }
                th { (p.t("回盘", "Answered")) } th { (p.t("入账", "Paid")) } th { (p.t("未入账", "Failed")) }
            }
            @for f in &r.files {
                tr {
                    td { (f.send_no) } td { (f.bank) } td { (f.rows) " · " (f.total) }
                    td { @if let Some(at) = f.result_at { (at.format("%Y-%m-%d %H:%M")) } @else { "—" } }
                    td { (f.paid_rows) " · " (f.paid) } td { (f.failed_rows) " · " (f.failed) }
                }
            }
        }
        @if !r.unpaid.is_empty() {
            h2 { (p.t("未发放的行与原因", "Rows not paid, and why")) }
            table #unpaid {
                tr {
                    th { (p.t("行", "Row")) } th { (p.t("证件号码", "ID number")) } th { (p.t("姓名", "Name")) }
                    th { (p.t("金额", "Amount")) } th { (p.t("状态", "Status")) } th { (p.t("原因", "Reason")) }
                }
                @for u in &r.unpaid {
                    tr data-code=(u.code) {
                        td { (u.row) } td { (u.id_masked) } td { (u.name_masked) } td { (u.amount) }
                        td { (status_label(p, &u.status)) } td { (p.t(&u.reason, &u.reason_en)) }
                    }
                }
            }
        }
        @if !r.rejections.is_empty() {
            h2 { (p.t("文件中被拒绝的行", "Rows refused in the file")) }
            table #rejections {
                tr { th { (p.t("行", "Row")) } th { (p.t("列", "Column")) } th { (p.t("原因", "Reason")) } }
                @for x in &r.rejections {
                    tr { td { (x.row) } td { (x.column) } td { (p.t(&x.message, &x.message_en)) " " code { (x.code) } } }
                }
            }
        }
    }
}

async fn batch_page(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadPayments>,
    Path(batch): Path<i64>,
) -> Response {
    let r = match st.store.payment_report(&ctx(&caller), batch).await {
        Ok(r) => r,
        Err(e) => return error_page(&p, &e.into()),
    };
    let title = format!("{} {batch}", p.t("代发批次", "Payment batch"));
    let body = html! {
        h1 { (title) }
        (report_body(&p, &r))
    };
    layout(&p, &title, &body).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct BankQuery {
    bank: Option<String>,
    status: Option<String>,
    page: Option<i64>,
}

const PAGE: i64 = 50;

/// The status exchange's latest events, both ways.
fn events_table(p: &Page, events: &[sscard_store::bank::BankEventView]) -> Markup {
    html! {
    table #bank-events {
        tr {
            th { "#" } th { (p.t("时间", "When")) } th { (p.t("方向", "Direction")) } th { (p.t("卡号", "Card")) }
            th { (p.t("事件", "Event")) } th { (p.t("结果", "Outcome")) } th { (p.t("导出批次", "Export")) }
        }
        @for e in events {
            tr data-direction=(e.direction) {
                td { (e.seq) } td { (e.at.format("%Y-%m-%d %H:%M")) }
                td { @if e.direction == "to_bank" { "→ " (p.t("告知银行", "to the bank")) } @else { "← " (p.t("银行报告", "from the bank")) } }
                td { (e.card_number) } td { (e.event) }
                td { (e.outcome.as_deref().unwrap_or("")) }
                td { @if let Some(n) = e.export_no { (n) } @else if e.direction == "to_bank" { (p.t("待导出", "waiting")) } }
            }
        }
    }
    }
}

async fn bank_page(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadPayments>,
    Query(q): Query<BankQuery>,
) -> Response {
    let own = match caller.actor().scope() {
        Scope::Bank(b) => Some(b.clone()),
        _ => None,
    };
    let banks = st.store.banks().await.unwrap_or_default();
    let bank = own
        .clone()
        .or(q.bank.filter(|b| !b.is_empty()))
        .unwrap_or_else(|| "105".to_owned());
    let status = q.status.filter(|s| !s.is_empty());
    let page = q.page.unwrap_or(0).max(0);
    let c = ctx(&caller);
    let cards = match st
        .store
        .bank_cards(&c, &bank, status.as_deref(), (PAGE, page * PAGE))
        .await
    {
        Ok(x) => x,
        Err(e) => return error_page(&p, &e.into()),
    };
    let events = match st.store.bank_events(&c, Some(&bank), 100).await {
        Ok(x) => x,
        Err(e) => return error_page(&p, &e.into()),
    };
    let name = banks
        .iter()
        .find(|b| b.code == bank)
        .map_or(bank.clone(), |b| p.t(&b.name_zh, &b.name_en).to_owned());
    let title = p.t("银行端", "Bank side");
    let link = |s: Option<&str>, n: i64| {
        format!(
            "/console/bank?bank={bank}&status={}&page={n}",
            s.unwrap_or_default()
        )
    };
    let body = html! {
        h1 { (title) " · " span #bank-name { (name) } }
        @if own.is_none() {
            form method="get" action="/console/bank" {
                label for="bank" { (p.t("合作银行", "Partner bank")) }
                " " select #bank name="bank" {
                    @for b in &banks {
                        option value=(b.code) selected[b.code == bank] { (b.code) " " (p.t(&b.name_zh, &b.name_en)) }
                    }
                }
                " " button type="submit" { (p.t("查看", "Show")) }
            }
        }
        h2 { (p.t("本行的卡（按金融状态）", "Its cards by financial status")) }
        p #bank-status-counts {
            a href=(link(None, 0)) { (p.t("全部", "all")) }
            @for (s, n) in &cards.by_status {
                " · " a href=(link(Some(s), 0)) data-status=(s) {
                    (sscard_core::FinancialStatus::from_name(s).map_or(s.as_str(), |f| p.t(f.zh(), f.as_str()))) " " (n)
                }
            }
        }
        table #bank-cards {
            tr {
                th { (p.t("卡号", "Card")) } th { (p.t("代别", "Generation")) } th { (p.t("持卡人", "Holder")) }
                th { (p.t("社保状态", "Social security")) } th { (p.t("金融状态", "Bank function")) }
                th { (p.t("账号", "Account")) } th { (p.t("由新卡取代", "Superseded by")) }
            }
            @for k in &cards.cards {
                tr {
                    td { (k.card_number) } td { (k.generation) } td { (k.holder_masked) " " (k.name_masked) }
                    td { (p.t(k.ss_status.zh(), k.ss_status.as_str())) }
                    td { (p.t(k.financial_status.zh(), k.financial_status.as_str())) }
                    td { (k.account_masked.as_deref().unwrap_or("—")) }
                    td { (k.superseded_by.as_deref().unwrap_or("")) }
                }
            }
        }
        p {
            (p.t("共", "")) " " (cards.total) " " (p.t("张", "cards"))
            @if page > 0 { " · " a #prev-page href=(link(status.as_deref(), page - 1)) { (p.t("上一页", "Previous")) } }
            @if (page + 1) * PAGE < cards.total { " · " a #next-page href=(link(status.as_deref(), page + 1)) { (p.t("下一页", "Next")) } }
        }
        h2 { (p.t("状态交换", "Status exchange")) }
        p { (p.t("→ 中心告知银行的社保事件（正式挂失、解挂、注销、换发新卡、被新卡取代）；← 银行报告的金融状态变化。",
                 "→ social-security events the centre tells the bank (formal loss, loss lifted, cancelled, new card, superseded); ← financial status changes the bank reports.")) }
        (events_table(&p, &events))
        p { a #bank-payments href="/console/payments" { (p.t("本行的代发文件", "Its payment files")) } }
    };
    layout(&p, title, &body).into_response()
}
