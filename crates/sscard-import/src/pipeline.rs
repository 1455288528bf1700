//! From an employer's upload to applications in a batch: the list is parsed, the photo ZIP read
//! safely, every photo normalised (in parallel), and the good rows applied in one transaction.
//! A file refused whole touches nothing; a bad row is reported and the others go ahead.

use std::collections::HashMap;
use std::io::Read;

use sha2::{Digest, Sha256};
use sscard_ids::{Bilingual, CreditCode};
use sscard_photo::{Options, Profile};
use sscard_store::{
    BatchImportOutcome, BatchRowInput, BatchUploadInput, Ctx, HeldRowInput, PersonInput,
    PhotoInput, RowIssue, Store, StoreError,
};

use crate::{Column, FileError, Parsed, RowProblem};

/// Most entries a photo ZIP may hold.
pub const MAX_ZIP_ENTRIES: usize = 20_000;
/// Most bytes all photos of one ZIP may expand to.
pub const MAX_ZIP_TOTAL: u64 = 1 << 30;
/// Largest expansion ratio of one entry: JPEG and PNG hardly compress, so an entry that expands
/// more than this is a decompression bomb.
pub const MAX_ZIP_RATIO: u64 = 50;

/// Why a photo ZIP was refused whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveError {
    /// Not a readable ZIP.
    NotZip { detail: String },
    /// More entries than [`MAX_ZIP_ENTRIES`].
    TooManyEntries { entries: usize },
    /// The photos expand to more than [`MAX_ZIP_TOTAL`].
    TooLarge,
    /// An entry expands far more than a photo can (a decompression bomb).
    Bomb { entry: String },
}

impl Bilingual for ArchiveError {
    fn code(&self) -> &'static str {
        match self {
            ArchiveError::NotZip { .. } => "zip.unreadable",
            ArchiveError::TooManyEntries { .. } => "zip.too_many_entries",
            ArchiveError::TooLarge => "zip.too_large",
            ArchiveError::Bomb { .. } => "zip.bomb",
        }
    }
    fn zh(&self) -> String {
        match self {
            ArchiveError::NotZip { .. } => "照片压缩包无法读取，请用 ZIP 格式重新打包".into(),
            ArchiveError::TooManyEntries { entries } => {
                format!("照片压缩包有 {entries} 个文件，超过上限 {MAX_ZIP_ENTRIES}，请分批上传")
            }
            ArchiveError::TooLarge => {
                format!("照片解压后超过 {} MB，请分批上传", MAX_ZIP_TOTAL >> 20)
            }
            ArchiveError::Bomb { entry } => {
                format!("压缩包中的“{entry}”解压后异常巨大，不是照片，已拒绝整个压缩包")
            }
        }
    }
    fn en(&self) -> String {
        match self {
            ArchiveError::NotZip { .. } => {
                "the photo archive cannot be read; pack it again as a ZIP".into()
            }
            ArchiveError::TooManyEntries { entries } => {
                format!(
                    "the photo archive holds {entries} files, more than {MAX_ZIP_ENTRIES}; upload in parts"
                )
            }
            ArchiveError::TooLarge => format!(
                "the photos expand to more than {} MB; upload in parts",
                MAX_ZIP_TOTAL >> 20
            ),
            ArchiveError::Bomb { entry } => {
                format!(
                    "\"{entry}\" in the archive expands far more than a photo can; the archive is refused"
                )
            }
        }
    }
}

/// The photos of a ZIP by file stem (the ID number, upper case, or the name a photo column
/// gives), and the entries that were ignored, with why.
#[derive(Debug, Default)]
pub struct PhotoArchive {
    by_stem: HashMap<String, Vec<u8>>,
    ambiguous: Vec<String>,
    /// Entries not used: unsafe paths, duplicates, not photos.
    pub ignored: Vec<String>,
}

impl PhotoArchive {
    /// How many photos it holds.
    pub fn len(&self) -> usize {
        self.by_stem.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_stem.is_empty()
    }

    fn find(&self, key: &str) -> Result<Option<&[u8]>, ()> {
        let stem = stem_of(key);
        if self.ambiguous.contains(&stem) {
            return Err(());
        }
        Ok(self.by_stem.get(&stem).map(Vec::as_slice))
    }
}

fn stem_of(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = match file.rsplit_once('.') {
        Some((s, ext)) if !s.is_empty() && ext.len() <= 4 => s,
        _ => file,
    };
    stem.trim().to_uppercase()
}

/// Reads a photo ZIP without trusting it: entry names never become paths (only the last name
/// component is used; names with `..` or absolute paths are ignored and listed), each entry is
/// read through a limit of its declared size and of [`sscard_photo::MAX_INPUT_BYTES`], the
/// total is bounded, and an entry that expands more than [`MAX_ZIP_RATIO`] times refuses the
/// archive. Nothing is written to disk.
pub fn read_photo_zip(bytes: &[u8]) -> Result<PhotoArchive, ArchiveError> {
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| ArchiveError::NotZip {
            detail: e.to_string(),
        })?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(ArchiveError::TooManyEntries { entries: zip.len() });
    }
    let mut archive = PhotoArchive::default();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| ArchiveError::NotZip {
            detail: e.to_string(),
        })?;
        let raw_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_dir() {
            continue;
        }
        let absolute = raw_name.starts_with(['/', '\\']) || raw_name.contains(':');
        if entry.enclosed_name().is_none() || raw_name.contains("..") || absolute {
            archive
                .ignored
                .push(format!("{raw_name}: unsafe path / 路径不安全"));
            continue;
        }
        let declared = entry.size();
        let compressed = entry.compressed_size().max(1);
        if declared / compressed > MAX_ZIP_RATIO && declared > 1 << 20 {
            return Err(ArchiveError::Bomb { entry: raw_name });
        }
        if declared > sscard_photo::MAX_INPUT_BYTES as u64 {
            archive.ignored.push(format!(
                "{raw_name}: larger than {} MB / 文件过大",
                sscard_photo::MAX_INPUT_BYTES >> 20
            ));
            continue;
        }
        // The declared size may lie: read at most one byte more than allowed and check.
        let mut data = Vec::with_capacity(declared.min(1 << 22) as usize);
        let limit = declared.min(sscard_photo::MAX_INPUT_BYTES as u64) + 1;
        (&mut entry)
            .take(limit)
            .read_to_end(&mut data)
            .map_err(|e| ArchiveError::NotZip {
                detail: e.to_string(),
            })?;
        if data.len() as u64 > declared {
            return Err(ArchiveError::Bomb { entry: raw_name });
        }
        total += data.len() as u64;
        if total > MAX_ZIP_TOTAL {
            return Err(ArchiveError::TooLarge);
        }
        let stem = stem_of(&raw_name);
        if stem.starts_with("__MACOSX") || raw_name.contains("__MACOSX/") || stem.starts_with('.') {
            continue;
        }
        if archive.by_stem.contains_key(&stem) {
            archive.ignored.push(format!(
                "{raw_name}: a second photo named {stem} / 同名照片重复"
            ));
            archive.by_stem.remove(&stem);
            archive.ambiguous.push(stem);
            continue;
        }
        if archive.ambiguous.contains(&stem) {
            continue;
        }
        archive.by_stem.insert(stem, data);
    }
    Ok(archive)
}

impl From<&RowProblem> for RowIssue {
    fn from(p: &RowProblem) -> RowIssue {
        RowIssue {
            row: p.row,
            column: p.column.clone(),
            code: p.code.clone(),
            message: p.message.clone(),
            message_en: p.message_en.clone(),
        }
    }
}

fn photo_issue(row: usize, code: &str, zh: String, en: String) -> RowIssue {
    RowIssue {
        row,
        column: Column::Photo.header().to_owned(),
        code: code.to_owned(),
        message: zh,
        message_en: en,
    }
}

/// How far an upload's photo work is: photos to normalise and photos done.
#[derive(Debug, Default)]
pub struct Progress {
    /// Photos to normalise (known once the list and ZIP are read).
    pub total: std::sync::atomic::AtomicUsize,
    /// Photos normalised so far.
    pub done: std::sync::atomic::AtomicUsize,
}

/// Turns a parsed list (and its photos) into the store's upload: photos are matched (by the
/// photo column, else by ID number), normalised on all cores, and every photo problem becomes
/// a row problem. Rows with a problem are left out.
pub fn prepare(
    parsed: &Parsed,
    archive: Option<&PhotoArchive>,
    profile: &Profile,
    employer: &CreditCode,
    file_name: &str,
    file_bytes: &[u8],
) -> BatchUploadInput {
    prepare_counted(
        parsed,
        archive,
        profile,
        (employer, file_name, file_bytes),
        &Progress::default(),
    )
}

/// [`prepare`], reporting photo progress into `progress`.
pub fn prepare_counted(
    parsed: &Parsed,
    archive: Option<&PhotoArchive>,
    profile: &Profile,
    (employer, file_name, file_bytes): (&CreditCode, &str, &[u8]),
    progress: &Progress,
) -> BatchUploadInput {
    let mut problems: Vec<RowIssue> = parsed.problems.iter().map(RowIssue::from).collect();
    let mut held: Vec<HeldRowInput> = Vec::new();
    let mut hold_for_photo =
        |row: &crate::EmployeeRow, issue: RowIssue, preview: Option<Vec<u8>>| {
            held.push(HeldRowInput {
                row: row_input(row, employer, None),
                issue,
                preview,
            });
        };
    let mut good: Vec<(&crate::EmployeeRow, Option<&[u8]>)> = Vec::with_capacity(parsed.rows.len());
    for row in &parsed.rows {
        let Some(archive) = archive else {
            good.push((row, None));
            continue;
        };
        let key = row
            .photo
            .clone()
            .unwrap_or_else(|| row.id.expose().to_owned());
        match archive.find(&key) {
            Ok(Some(bytes)) => good.push((row, Some(bytes))),
            Ok(None) => {
                let issue = missing_photo(row, &key);
                problems.push(issue.clone());
                hold_for_photo(row, issue, None);
            }
            Err(()) => {
                let issue = photo_issue(
                    row.row,
                    "photo.ambiguous",
                    "压缩包中有两张同名照片，无法确定用哪一张，请只保留一张".into(),
                    "the archive holds two photos with this name; keep only one".into(),
                );
                problems.push(issue.clone());
                hold_for_photo(row, issue, None);
            }
        }
    }
    let with_photo: Vec<&[u8]> = good.iter().filter_map(|(_, p)| *p).collect();
    let mut normalised = {
        progress
            .total
            .store(with_photo.len(), std::sync::atomic::Ordering::Relaxed);
        sscard_photo::normalize_all_counted(
            &with_photo,
            profile,
            Options::default(),
            &progress.done,
        )
    }
    .into_iter();
    let mut rows = Vec::with_capacity(good.len());
    for (row, photo) in good {
        let photo = match photo {
            None => None,
            Some(original) => match normalised.next().expect("one result per photo") {
                Ok(n) => Some(PhotoInput {
                    sha256: hex::encode(Sha256::digest(original)),
                    jpeg: n.jpeg,
                    chip_jpeg: n.chip_jpeg,
                    quality: n.quality,
                }),
                Err(rejection) => {
                    let issue =
                        photo_issue(row.row, rejection.code(), rejection.zh(), rejection.en());
                    problems.push(issue.clone());
                    hold_for_photo(
                        row,
                        issue,
                        sscard_photo::preview_jpeg(original, PREVIEW_SIDE),
                    );
                    continue;
                }
            },
        };
        rows.push(row_input(row, employer, photo));
    }
    problems.sort_by_key(|p| p.row);
    let mut data_rows: Vec<usize> = parsed
        .rows
        .iter()
        .map(|r| r.row)
        .chain(parsed.problems.iter().map(|p| p.row))
        .collect();
    data_rows.sort_unstable();
    data_rows.dedup();
    BatchUploadInput {
        employer: *employer,
        file_name: file_name.to_owned(),
        file_sha256: hex::encode(Sha256::digest(file_bytes)),
        rows_total: data_rows.len(),
        rows,
        problems,
        held,
    }
}

/// The longest side of the preview a refused photo keeps for the contact sheet, pixels.
pub const PREVIEW_SIDE: u32 = 240;

fn row_input(
    row: &crate::EmployeeRow,
    employer: &CreditCode,
    photo: Option<PhotoInput>,
) -> BatchRowInput {
    BatchRowInput {
        row: row.row,
        person: PersonInput {
            id: row.id,
            name: row.name.clone(),
            employer: Some(*employer),
            workshop: row.workshop.clone(),
            department: row.department.clone(),
            phone: row.phone.clone(),
            insured_city: None,
        },
        bank: row.bank.clone(),
        photo,
    }
}

fn missing_photo(row: &crate::EmployeeRow, key: &str) -> RowIssue {
    let shown = mask_key(key, row);
    photo_issue(
        row.row,
        "photo.missing",
        format!("压缩包中没有此人的照片（应命名为“{shown}.jpg”或在照片列填写文件名）"),
        format!(
            "no photo for this person in the archive (name it \"{shown}.jpg\" or give its file name in the photo column)"
        ),
    )
}

/// The photo key for a message: an ID number is masked, a file name shown as given.
fn mask_key(key: &str, row: &crate::EmployeeRow) -> String {
    if row.photo.is_some() {
        key.to_owned()
    } else {
        row.id.masked()
    }
}

/// Why an upload was refused whole (nothing was applied).
#[derive(Debug)]
pub enum ImportError {
    /// The list cannot be read.
    File(FileError),
    /// The photo ZIP cannot be read safely.
    Archive(ArchiveError),
    /// The store refused or failed.
    Store(StoreError),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::File(e) => write!(f, "{}（{}）", e.zh(), e.en()),
            ImportError::Archive(e) => write!(f, "{}（{}）", e.zh(), e.en()),
            ImportError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// What an upload did, with the ZIP entries that were not used.
#[derive(Debug, serde::Serialize)]
pub struct ImportReport {
    /// The store's outcome.
    #[serde(flatten)]
    pub outcome: BatchImportOutcome,
    /// Data rows in the file.
    pub rows: usize,
    /// Photos found in the ZIP.
    pub photos: usize,
    /// ZIP entries not used, with why.
    pub ignored_entries: Vec<String>,
}

/// Whether a cell names this bank: its code, short name (any case), or Chinese name with or
/// without the leading 中国 (建设银行 = 中国建设银行).
fn bank_matches(bank: &sscard_store::Bank, cell: &str) -> bool {
    let cell = cell.trim();
    bank.code == cell
        || bank.short_name.eq_ignore_ascii_case(cell)
        || bank.name_zh == cell
        || bank.name_zh.strip_prefix("中国") == Some(cell)
}

/// Whether `bytes` is an `.xlsx` (a ZIP container) rather than CSV text.
pub fn is_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The whole upload: parse, read the ZIP, normalise photos (off the async threads), apply.
pub async fn import_upload(
    store: &Store,
    ctx: &Ctx,
    employer: &CreditCode,
    file_name: &str,
    file: Vec<u8>,
    photos: Option<Vec<u8>>,
    profile: &Profile,
) -> Result<ImportReport, ImportError> {
    import_upload_with_progress(
        store,
        ctx,
        (employer, file_name),
        file,
        photos,
        profile,
        std::sync::Arc::default(),
    )
    .await
}

/// [`import_upload`], reporting photo progress into `progress` as it goes.
pub async fn import_upload_with_progress(
    store: &Store,
    ctx: &Ctx,
    (employer, file_name): (&CreditCode, &str),
    file: Vec<u8>,
    photos: Option<Vec<u8>>,
    profile: &Profile,
    progress: std::sync::Arc<Progress>,
) -> Result<ImportReport, ImportError> {
    // The employer must exist before any work is done.
    store.employer(employer).await.map_err(ImportError::Store)?;
    let banks = store.banks().await.map_err(ImportError::Store)?;
    let employer = *employer;
    let file_name = file_name.to_owned();
    let profile = profile.clone();
    let upload = tokio::task::spawn_blocking(move || {
        let is_bank = |s: &str| banks.iter().any(|b| bank_matches(b, s));
        let parsed = if is_xlsx(&file) {
            crate::parse_xlsx(&file, &is_bank)
        } else {
            crate::parse_csv(&file, &is_bank)
        }
        .map_err(ImportError::File)?;
        let archive = photos
            .as_deref()
            .map(read_photo_zip)
            .transpose()
            .map_err(ImportError::Archive)?;
        let mut upload = prepare_counted(
            &parsed,
            archive.as_ref(),
            &profile,
            (&employer, &file_name, &file),
            &progress,
        );
        // Banks were checked by name; the store wants the code.
        let held = upload.held.iter_mut().map(|h| &mut h.row);
        for row in upload.rows.iter_mut().chain(held) {
            if let Some(b) = banks.iter().find(|b| bank_matches(b, &row.bank)) {
                row.bank.clone_from(&b.code);
            }
        }
        let (photos, ignored) = archive.map(|a| (a.len(), a.ignored)).unwrap_or_default();
        Ok::<_, ImportError>((upload, photos, ignored))
    })
    .await
    .map_err(|e| {
        ImportError::Store(StoreError::Database {
            detail: format!("photo worker: {e}"),
        })
    })??;
    let (upload, photos, ignored_entries) = upload;
    let outcome = store
        .import_batch(ctx, &upload)
        .await
        .map_err(ImportError::Store)?;
    Ok(ImportReport {
        rows: upload.rows_total,
        outcome,
        photos,
        ignored_entries,
    })
}

/// Why one row's new photo was not taken.
#[derive(Debug)]
pub enum ReplaceError {
    /// The photo failed a check (the row stays as it was).
    Photo(sscard_photo::Rejection),
    /// The store refused (no such row, out of scope, too late, …).
    Store(StoreError),
}

/// Gives row `row` of batch `batch` a new photo, through the same checks as an upload: a row
/// held for its photo is applied, an applied row gets the new photo (until the card factory has
/// it). The photo is normalised off the async threads.
pub async fn replace_photo(
    store: &Store,
    ctx: &Ctx,
    (batch, row): (i64, usize),
    bytes: Vec<u8>,
    profile: &Profile,
) -> Result<sscard_store::PhotoReplaced, ReplaceError> {
    let profile = profile.clone();
    let photo = tokio::task::spawn_blocking(move || {
        sscard_photo::normalize(&bytes, &profile, Options::default()).map(|n| PhotoInput {
            sha256: hex::encode(Sha256::digest(&bytes)),
            jpeg: n.jpeg,
            chip_jpeg: n.chip_jpeg,
            quality: n.quality,
        })
    })
    .await
    .map_err(|e| {
        ReplaceError::Store(StoreError::Database {
            detail: format!("photo worker: {e}"),
        })
    })?
    .map_err(ReplaceError::Photo)?;
    store
        .replace_batch_photo(ctx, batch, row, &photo)
        .await
        .map_err(ReplaceError::Store)
}
