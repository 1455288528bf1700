//! Console pages for employer bulk applications and production: the employer agent uploads its
//! list and photos, sees each upload's outcome and downloads the error workbook; the production
//! operator sees every batch and runs its steps (files to and from partners are downloaded and
//! uploaded here).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use sscard_core::{Permission, Role};
use sscard_ids::CreditCode;
use sscard_import::pipeline::{ImportError, import_upload};
use sscard_import::production::{self, ProductionError};
use sscard_store::{BatchImportOutcome, Ctx};

use super::extract::{ConsoleUser, CsrfMultipart, need};
use super::{Page, error_page, layout};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// Largest upload (list + photo ZIP) the console takes.
pub(crate) const UPLOAD_LIMIT: usize = 512 * 1024 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/batches", get(list_page))
        .route("/console/batches/template.xlsx", get(template))
        .route(
            "/console/batches/upload",
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/console/batches/{id}", get(batch_page))
        .route(
            "/console/batches/{id}/step/{step}",
            post(step).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/console/uploads/{id}/errors.xlsx", get(error_workbook))
        .route("/console/batches/{id}/photos", get(photos_page))
        .route("/console/batches/{id}/photos.pdf", get(photos_pdf))
        .route(
            "/console/batches/{id}/photo",
            post(replace_photo).layer(DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
}

fn actor(caller: &Caller) -> Ctx {
    Ctx::now(caller.actor())
}

/// The employer an agent acts for (`None`: other roles, who see every employer). An agent
/// account without a valid employer sees nothing.
fn own_employer(caller: &Caller) -> Result<Option<CreditCode>, ApiError> {
    if caller.staff.role != Role::EmployerAgent {
        return Ok(None);
    }
    caller
        .staff
        .employer_credit_code
        .as_deref()
        .and_then(|c| CreditCode::parse(c).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::forbidden("单位经办人账号未关联单位 / the agent account has no employer")
        })
}

async fn list_page(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadBatches>,
    Query(params): Query<super::lists::ListParams>,
) -> Response {
    let q = match params.query() {
        Ok(q) => q,
        Err(e) => return error_page(&p, &e),
    };
    let list = match st.store.list_batches(&actor(&caller), &q).await {
        Ok(b) => b,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    let statuses = sscard_core::BatchStatus::all()
        .into_iter()
        .map(|s| (s.code().to_string(), s.zh(), s.en()))
        .collect();
    let path = "/console/batches";
    let body = html! {
        h1 { (p.t("制卡批次", "Production batches")) }
        @if p.can(Permission::UploadBatches) { (upload_form(&p)) }
        (super::lists::search_form(&p, path, &params, ("批次号或单位名称", "batch number or employer name"), &[
            super::lists::Filter::Choice { name: "status", zh: "状态", en: "Status", options: statuses },
        ]))
        div.scroll { table #batches {
            tr { th { (p.t("批次", "Batch")) } th { (p.t("单位", "Employer")) } th { (p.t("状态", "Status")) } th { (p.t("人数", "People")) } th { (p.t("已制卡", "Cards")) } }
            @for b in &list.rows {
                tr {
                    td { a href=(format!("/console/batches/{}", b.id)) { (b.id) } }
                    td { (b.employer_name) }
                    td { (b.status) " " (b.status_zh) }
                    td { (b.rows) }
                    td { (b.cards) }
                }
            }
        } }
        @if list.total == 0 { p #no-batches { (p.t("还没有批次", "No batches yet")) } }
        (super::lists::pager(&p, path, &params, &list))
    };
    layout(&p, p.t("制卡批次", "Production batches"), &body).into_response()
}

fn upload_form(p: &Page) -> Markup {
    html! {
        form #upload-form method="post" action="/console/batches/upload" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(p.csrf());
            p { label { (p.t("员工名单（.xlsx 或 CSV）", "Employee list (.xlsx or CSV)")) br; input #list name="list" type="file" required; } }
            p { label { (p.t("照片压缩包（ZIP，照片以身份证号码命名）", "Photo ZIP (photos named by ID number)")) br; input #photos name="photos" type="file"; } }
            button #upload type="submit" { (p.t("上传并申领", "Upload and apply")) }
            " "
            a #template href="/console/batches/template.xlsx" { (p.t("下载名单模板", "Download the list template")) }
        }
    }
}

async fn upload(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::UploadBatches>,
    form: CsrfMultipart,
) -> Response {
    let Ok(Some(employer)) = own_employer(&caller) else {
        return error_page(
            &p,
            &ApiError::forbidden(p.t(
                "只有单位经办人可以上传名单",
                "only an employer agent uploads lists",
            )),
        );
    };
    let Some((_, file_name, list)) = form.part("list") else {
        return error_page(
            &p,
            &ApiError::new(
                StatusCode::BAD_REQUEST,
                "upload.no_list",
                "请选择员工名单文件",
                "choose the employee list file",
            ),
        );
    };
    let photos = form.part("photos").map(|f| f.2.to_vec());
    let profile = sscard_photo::Profile::jiangsu();
    match import_upload(
        &st.store,
        &actor(&caller),
        &employer,
        file_name,
        list.to_vec(),
        photos,
        &profile,
    )
    .await
    {
        Ok(report) => outcome_page(&p, &report.outcome, report.rows),
        Err(ImportError::Store(e)) => error_page(&p, &ApiError::from(e)),
        Err(ImportError::File(e)) => error_page(
            &p,
            &ApiError::from_bilingual(StatusCode::UNPROCESSABLE_ENTITY, &e),
        ),
        Err(ImportError::Archive(e)) => error_page(
            &p,
            &ApiError::from_bilingual(StatusCode::UNPROCESSABLE_ENTITY, &e),
        ),
    }
}

fn outcome_page(p: &Page, o: &BatchImportOutcome, rows: usize) -> Response {
    let body = html! {
        h1 { (p.t("上传结果", "Upload result")) }
        p.flash #upload-summary {
            (p.t("批次 ", "Batch ")) a href=(format!("/console/batches/{}", o.batch_id)) { (o.batch_id) } " · "
            (rows) (p.t(" 行 · 受理 ", " rows · accepted ")) strong #accepted { (o.accepted) }
            (p.t(" · 此前已受理 ", " · already applied ")) span #already { (o.already) }
            (p.t(" · 未通过 ", " · refused ")) strong #rejected { (o.rejected.len()) }
        }
        @if !o.rejected.is_empty() {
            p { a #error-workbook href=(format!("/console/uploads/{}/errors.xlsx", o.upload_id)) { (p.t("下载错误清单（.xlsx）", "Download the error workbook (.xlsx)")) } }
            table #problems {
                tr { th { (p.t("行号", "Row")) } th { (p.t("列", "Column")) } th { (p.t("原因", "Reason")) } th { (p.t("代码", "Code")) } }
                @for r in &o.rejected {
                    tr { td { (r.row) } td { (r.column) } td { (p.t(&r.message, &r.message_en)) } td { code { (r.code) } } }
                }
            }
            p { (p.t("请在原文件中改正这些行后重新上传整份文件；已受理的人员不会重复申领。", "Fix these rows in your file and upload the whole file again; people already applied are not applied twice.")) }
        }
        p { a href="/console/batches" { (p.t("返回批次列表", "Back to the batches")) } }
    };
    layout(p, p.t("上传结果", "Upload result"), &body).into_response()
}

async fn batch_page(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadBatches>,
    Path(id): Path<i64>,
) -> Response {
    let detail = match st.store.batch(&actor(&caller), id).await {
        Ok(d) => d,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    let s = &detail.summary;
    let body = html! {
        h1 { (p.t("批次 ", "Batch ")) (s.id) }
        p #batch-status { (s.employer_name) " · " (p.t("状态 ", "status ")) strong { (s.status) " " (s.status_zh) } " · " (s.rows) (p.t(" 人 · ", " people · ")) (detail.photos) (p.t(" 张照片 · ", " photos · ")) (s.cards) (p.t(" 张卡", " cards")) }
        table #steps {
            tr { th { (p.t("环节", "Step")) } th { (p.t("人数", "Rows")) } }
            @for (step, n) in &detail.steps { tr { td { (step) } td { (n) } } }
        }
        h2 { (p.t("上传记录", "Uploads")) }
        table #uploads {
            tr { th { (p.t("文件", "File")) } th { (p.t("行数", "Rows")) } th { (p.t("受理", "Accepted")) } th { (p.t("已受理", "Already")) } th { (p.t("未通过", "Refused")) } th {} }
            @for u in &detail.uploads {
                tr {
                    td { (u.file_name) } td { (u.rows_total) } td { (u.accepted) } td { (u.already) } td { (u.rejected) }
                    td { @if u.rejected > 0 { a href=(format!("/console/uploads/{}/errors.xlsx", u.id)) { (p.t("错误清单", "Error workbook")) } } }
                }
            }
        }
        p { a #contact-sheet href=(format!("/console/batches/{}/photos", s.id)) { (p.t("照片核对表", "Contact sheet")) } }
        @if p.can(Permission::RunProduction) { (steps_form(&p, s.id, s.status)) }
    };
    layout(&p, p.t("批次", "Batch"), &body).into_response()
}

/// Rows a contact-sheet page shows.
const SHEET_PAGE: usize = 40;

#[derive(serde::Deserialize)]
struct SheetQuery {
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    done: Option<usize>,
}

fn data_uri(jpeg: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    )
}

/// The batch's photos as a grid (the same as `sscard batch photos --pdf`): each with its row
/// and masked name, refused ones with the source and the reason, and a form to give one row a
/// new photo.
async fn photos_page(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadBatches>,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<SheetQuery>,
) -> Response {
    use sscard_store::SheetPhoto;
    let entries = match st.store.batch_sheet(&actor(&caller), id).await {
        Ok(s) => s.entries,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    let refused = entries
        .iter()
        .filter(|e| matches!(e.photo, SheetPhoto::Refused { .. }))
        .count();
    let pages = entries.len().div_ceil(SHEET_PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let may_replace = p.can(Permission::UploadBatches) || p.can(Permission::RunProduction);
    let title = p.t("照片核对表", "Contact sheet");
    let body = html! {
        style { ".sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.6em}\
            .sheet figure{margin:0;border:1px solid #ccc;padding:.4em}.sheet figure.refused{border:3px solid #d93025}\
            .sheet img{width:120px;height:148px;object-fit:contain;display:block;margin:auto;background:#f1f3f4}\
            .sheet figcaption{font-size:.85em}.sheet .reason{color:#d93025}" }
        h1 { (title) " · " (p.t("批次 ", "batch ")) (id) }
        @if let Some(row) = q.done { p.flash #photo-done { (p.t("已更换照片：第 ", "Photo taken: row ")) (row) (p.t(" 行", "")) } }
        p #sheet-summary {
            (entries.len()) (p.t(" 行 · 照片未通过 ", " rows · photos refused ")) strong #sheet-refused { (refused) }
            " · " a #sheet-pdf href=(format!("/console/batches/{id}/photos.pdf")) { (p.t("下载 PDF", "Download the PDF")) }
            " · " a href=(format!("/console/batches/{id}")) { (p.t("返回批次", "Back to the batch")) }
        }
        div.sheet #sheet {
            @for e in entries.iter().skip((page - 1) * SHEET_PAGE).take(SHEET_PAGE) {
                @let refused = matches!(e.photo, SheetPhoto::Refused { .. });
                figure class=[refused.then_some("refused")] data-row=(e.row) {
                    @match &e.photo {
                        SheetPhoto::Accepted { jpeg } => { img src=(data_uri(jpeg)) alt=(format!("{} {}", e.row, e.name)); }
                        SheetPhoto::Refused { preview: Some(pv), .. } => { img src=(data_uri(pv)) alt=(format!("{} {}", e.row, e.name)); }
                        _ => { img alt=(p.t("无照片", "no photo")); }
                    }
                    figcaption {
                        (p.t("第 ", "Row ")) (e.row) (p.t(" 行", "")) " · " (e.name) br; small { (e.id_number) }
                        @match &e.photo {
                            SheetPhoto::Refused { code, message, message_en, .. } => {
                                p.reason { (p.t(message, message_en)) " " code { (code) } }
                            }
                            SheetPhoto::Missing => { p.reason { (p.t("无照片", "No photo")) } }
                            SheetPhoto::Accepted { .. } => {}
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            p #sheet-pages {
                @for n in 1..=pages {
                    @if n == page { strong { (n) } } @else { a href=(format!("/console/batches/{id}/photos?page={n}")) { (n) } }
                    " "
                }
            }
        }
        @if may_replace {
            h2 { (p.t("更换一行的照片", "Give one row a new photo")) }
            form #replace-form method="post" action=(format!("/console/batches/{id}/photo")) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(p.csrf());
                p { label { (p.t("行号", "Row")) br; input #replace-row name="row" inputmode="numeric" size="6" required; } }
                p { label { (p.t("照片（JPEG 或 PNG）", "Photo (JPEG or PNG)")) br; input #replace-file name="file" type="file" required; } }
                button #replace-submit type="submit" { (p.t("检查并更换", "Check and replace")) }
            }
        }
    };
    layout(&p, title, &body).into_response()
}

async fn photos_pdf(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadBatches>,
    Path(id): Path<i64>,
) -> Response {
    let sheet = match st.store.batch_sheet(&actor(&caller), id).await {
        Ok(s) => s,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    let font = match sscard_print::PrintFont::find() {
        Ok(f) => f,
        Err(e) => {
            return error_page(&p, &ApiError::print(&e));
        }
    };
    let header =
        sscard_print::SheetHeader::at(id, &sheet.summary.employer_name, chrono::Utc::now());
    let pdf = tokio::task::spawn_blocking(move || {
        sscard_print::contact_sheet_pdf(&header, &sheet.entries, &font)
    })
    .await;
    match pdf {
        Ok(Ok(bytes)) => attachment("application/pdf", &format!("B{id:06}-photos.pdf"), bytes),
        Ok(Err(e)) => error_page(&p, &ApiError::print(&e)),
        Err(e) => error_page(&p, &ApiError::internal(e)),
    }
}

async fn replace_photo(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadBatches>,
    Path(id): Path<i64>,
    form: CsrfMultipart,
) -> Response {
    use sscard_import::pipeline::ReplaceError;
    if !(p.can(Permission::UploadBatches) || p.can(Permission::RunProduction)) {
        return super::forbidden(&p, p.t("更换照片", "replace photos"));
    }
    let row = form
        .part("row")
        .and_then(|f| std::str::from_utf8(&f.2).ok())
        .and_then(|t| t.trim().parse::<usize>().ok());
    let (Some(row), Some((_, _, file))) = (row, form.part("file")) else {
        return error_page(
            &p,
            &ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "upload.photo_form",
                "请填写行号并选择照片文件",
                "give the row number and choose the photo file",
            ),
        );
    };
    let profile = sscard_photo::Profile::jiangsu();
    match sscard_import::pipeline::replace_photo(
        &st.store,
        &actor(&caller),
        (id, row),
        file.to_vec(),
        &profile,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/console/batches/{id}/photos?done={row}")).into_response(),
        Err(ReplaceError::Photo(e)) => error_page(
            &p,
            &ApiError::from_bilingual(StatusCode::UNPROCESSABLE_ENTITY, &e),
        ),
        Err(ReplaceError::Store(e)) => error_page(&p, &ApiError::from(e)),
    }
}

fn steps_form(p: &Page, id: i64, status: u8) -> Markup {
    let action = |step: &str| format!("/console/batches/{id}/step/{step}");
    html! {
        h2 { (p.t("生产环节", "Production")) }
        div.actions #production-actions {
            @if matches!(status, 10 | 20 | 21 | 22 | 23) {
                form method="post" action=(action("send-bank")) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf());
                    button #send-bank type="submit" { (p.t("生成开户文件并下载", "Make and download the bank files")) }
                }
                form method="post" action=(action("bank-result")) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf());
                    input name="file" type="file" required;
                    button #bank-result type="submit" { (p.t("导入银行回盘", "Apply a bank result")) }
                }
            }
            @if matches!(status, 21 | 30 | 31 | 32 | 33) {
                form method="post" action=(action("send-factory")) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf());
                    button #send-factory type="submit" { (p.t("生成制卡数据包并下载", "Make and download the card order")) }
                }
                form method="post" action=(action("factory-result")) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf());
                    input name="file" type="file" required;
                    button #factory-result type="submit" { (p.t("导入卡厂回盘", "Apply the factory result")) }
                }
            }
            @if status == 41 {
                form method="post" action=(action("receive")) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(p.csrf());
                    input name="outlet" placeholder="TZ-KS-ONSITE" required;
                    button #receive type="submit" { (p.t("网点接收", "Received at the outlet")) }
                }
            }
        }
        p { small { (p.t("个人化需要密钥服务，用命令行 sscard batch personalise 执行。", "Personalisation needs the key service: run sscard batch personalise.")) } }
    }
}

const ZIP: &str = "application/zip";
pub(super) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file to save: its type, its name, its bytes.
pub(super) fn attachment(content_type: &'static str, name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

fn file_download(path: &std::path::Path) -> Response {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("card-order.zip")
        .to_owned();
    let data = std::fs::read(path).unwrap_or_default();
    attachment(ZIP, &name, data)
}

fn zip_download(name: &str, files: &[std::path::PathBuf]) -> Response {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        for f in files {
            let entry = f.file_name().and_then(|n| n.to_str()).unwrap_or("file");
            if let Ok(data) = std::fs::read(f) {
                let _ = zip.start_file(entry, zip::write::SimpleFileOptions::default());
                let _ = zip.write_all(&data);
            }
        }
        let _ = zip.finish();
    }
    attachment(ZIP, name, out.into_inner())
}

async fn step(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::RunProduction>,
    Path((id, step)): Path<(i64, String)>,
    form: CsrfMultipart,
) -> Response {
    let ctx = actor(&caller);
    let Some(keys) = st.exchange.clone() else {
        return error_page(
            &p,
            &ApiError::from_bilingual(
                StatusCode::SERVICE_UNAVAILABLE,
                &production::SecretError::Missing,
            ),
        );
    };
    let Ok(dir) = tempfile::tempdir() else {
        return error_page(
            &p,
            &ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "无法创建临时目录",
                "cannot create a temporary directory",
            ),
        );
    };
    let file = form.part("file").map(|f| f.2.to_vec()).unwrap_or_default();
    let result = match step.as_str() {
        "send-bank" => {
            match production::send_to_banks(&st.store, &ctx, id, &keys, dir.path()).await {
                Ok(files) => return zip_download(&format!("B{id:06}-bank-files.zip"), &files),
                Err(e) => Err(e),
            }
        }
        "send-factory" => match production::send_to_factory(
            &st.store,
            &ctx,
            id,
            &keys,
            production::DEFAULT_FACTORY,
            dir.path(),
        )
        .await
        {
            Ok(path) => return file_download(&path),
            Err(e) => Err(e),
        },
        "bank-result" => production::record_bank_file(&st.store, &ctx, id, &keys, &file)
            .await
            .map(|_| ()),
        "factory-result" => production::record_factory_file(&st.store, &ctx, id, &keys, &file)
            .await
            .map(|_| ()),
        "receive" => {
            let outlet = form
                .part("outlet")
                .map(|f| String::from_utf8_lossy(&f.2).trim().to_owned())
                .unwrap_or_default();
            st.store
                .receive_batch(&ctx, id, &outlet)
                .await
                .map(|_| ())
                .map_err(ProductionError::Store)
        }
        _ => {
            return error_page(
                &p,
                &ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found.step",
                    "没有这个生产环节",
                    "no such production step",
                ),
            );
        }
    };
    step_outcome(&p, id, result)
}

fn step_outcome(p: &Page, id: i64, result: Result<(), ProductionError>) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/console/batches/{id}")).into_response(),
        Err(ProductionError::Store(e)) => error_page(p, &ApiError::from(e)),
        Err(ProductionError::Exchange(e)) => error_page(
            p,
            &ApiError::from_bilingual(StatusCode::UNPROCESSABLE_ENTITY, &e),
        ),
        Err(ProductionError::Io(e)) => error_page(
            p,
            &ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal.io",
                format!("文件读写失败：{e}"),
                format!("file error: {e}"),
            ),
        ),
    }
}

async fn error_workbook(
    State(st): State<AppState>,
    ConsoleUser { p, caller, .. }: ConsoleUser<need::ReadBatches>,
    Path(id): Path<uuid::Uuid>,
) -> Response {
    let (batch, problems) = match st.store.upload_problems(&actor(&caller), id).await {
        Ok(v) => v,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    match sscard_import::workbook::error_workbook(batch, &problems) {
        Ok(bytes) => attachment(XLSX, &format!("B{batch:06}-errors.xlsx"), bytes),
        Err(e) => error_page(&p, &ApiError::internal(e)),
    }
}

async fn template(
    State(st): State<AppState>,
    ConsoleUser { p, .. }: ConsoleUser<need::UploadBatches>,
) -> Response {
    let banks = match st.store.banks().await {
        Ok(b) => b,
        Err(e) => return error_page(&p, &ApiError::from(e)),
    };
    match sscard_import::workbook::template(&banks) {
        Ok(bytes) => attachment(XLSX, "sscard-employee-list.xlsx", bytes),
        Err(e) => error_page(&p, &ApiError::internal(e)),
    }
}
