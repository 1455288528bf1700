//! Employer bulk-application files (单位批量申领): the employee list an HR department sends,
//! parsed once at the edge into typed rows. Every problem is reported with its row (the file's
//! own numbering: header = row 1), column, a stable code and a message in zh-CN and English;
//! no problem in one row stops the others. A file that cannot be read at all (wrong format,
//! missing columns) is refused whole, so nothing is half-imported.
//!
//! Formats: CSV in UTF-8 (with or without BOM) or GBK/GB18030 (detected); `.xlsx` workbooks
//! (first sheet; merged cells fill the cells they cover; formulas count by their cached value).
//!
//! Columns (zh-CN or English headers, any order): 姓名 `name` · 身份证号码 `id_number` · 合作银行 `bank`
//! (required); 手机号码 phone · 车间 workshop · 部门 department · 照片 photo (optional).

use std::collections::HashMap;

pub mod bank_files;
pub mod institutions;
pub mod legacy;
pub mod payments;
pub mod pipeline;
pub mod production;
pub mod settlement_config;
pub mod workbook;

use sscard_ids::{Bilingual, PersonName, ResidentId};

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 100_000;
/// The longest cell accepted, in characters.
pub const MAX_CELL_CHARS: usize = 200;

/// A column of the employee list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// 姓名
    Name,
    /// 身份证号码
    IdNumber,
    /// 合作银行
    Bank,
    /// 手机号码
    Phone,
    /// 车间
    Workshop,
    /// 部门
    Department,
    /// 照片 (file name inside the photo ZIP)
    Photo,
}

impl Column {
    /// Every column, in template order.
    pub const ALL: [Column; 7] = [
        Column::Name,
        Column::IdNumber,
        Column::Bank,
        Column::Phone,
        Column::Workshop,
        Column::Department,
        Column::Photo,
    ];

    /// The header the template uses.
    pub fn header(self) -> &'static str {
        match self {
            Column::Name => "姓名",
            Column::IdNumber => "身份证号码",
            Column::Bank => "合作银行",
            Column::Phone => "手机号码",
            Column::Workshop => "车间",
            Column::Department => "部门",
            Column::Photo => "照片",
        }
    }

    /// The English name.
    pub fn en(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::IdNumber => "id_number",
            Column::Bank => "bank",
            Column::Phone => "phone",
            Column::Workshop => "workshop",
            Column::Department => "department",
            Column::Photo => "photo",
        }
    }

    /// Whether every row must fill it.
    pub fn required(self) -> bool {
        matches!(self, Column::Name | Column::IdNumber | Column::Bank)
    }

    /// Recognises a header cell (zh-CN synonyms or English, case and spaces ignored).
    pub fn from_header(text: &str) -> Option<Column> {
        let t: String = text
            .trim()
            .trim_start_matches('\u{FEFF}')
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        let t = t.trim_end_matches(['*', '＊']);
        Some(match t {
            "姓名" | "name" => Column::Name,
            "身份证号码" | "身份证号" | "公民身份号码" | "社会保障号码" | "id_number"
            | "idnumber" | "id" => Column::IdNumber,
            "合作银行" | "开户银行" | "银行" | "bank" => Column::Bank,
            "手机号码" | "手机" | "联系电话" | "phone" | "mobile" => Column::Phone,
            "车间" | "workshop" => Column::Workshop,
            "部门" | "department" => Column::Department,
            "照片" | "照片文件" | "photo" => Column::Photo,
            _ => return None,
        })
    }
}

/// One good employee row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeRow {
    /// The row number in the file (header = 1).
    pub row: usize,
    /// The ID number.
    pub id: ResidentId,
    /// The name.
    pub name: PersonName,
    /// Bank code or short name, as written (matched against the partner banks).
    pub bank: String,
    /// Mobile phone.
    pub phone: Option<String>,
    /// Workshop.
    pub workshop: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Photo file name in the ZIP, if given.
    pub photo: Option<String>,
}

/// A problem with one row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// The row number in the file (header = 1).
    pub row: usize,
    /// The column's template header.
    pub column: String,
    /// A stable code (`resident_id.check_character`, `row.duplicate`, …).
    pub code: String,
    /// In Chinese.
    pub message: String,
    /// In English.
    pub message_en: String,
}

/// A whole file, parsed: the good rows and the problems of the bad ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// Rows that passed every check.
    pub rows: Vec<EmployeeRow>,
    /// One entry per problem (a row may have several).
    pub problems: Vec<RowProblem>,
    /// Encoding detected.
    pub encoding: &'static str,
}

/// Why a whole file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// No header row.
    Empty,
    /// Required columns are missing; the headers found are listed.
    MissingColumns {
        missing: Vec<Column>,
        found: Vec<String>,
    },
    /// The same column twice.
    DuplicateColumn { column: Column },
    /// More rows than [`MAX_ROWS`].
    TooManyRows { rows: usize },
    /// The CSV structure is broken (e.g. an unclosed quote).
    Malformed { line: usize, detail: String },
}

impl Bilingual for FileError {
    fn code(&self) -> &'static str {
        match self {
            FileError::Empty => "file.empty",
            FileError::MissingColumns { .. } => "file.missing_columns",
            FileError::DuplicateColumn { .. } => "file.duplicate_column",
            FileError::TooManyRows { .. } => "file.too_many_rows",
            FileError::Malformed { .. } => "file.malformed",
        }
    }
    fn zh(&self) -> String {
        match self {
            FileError::Empty => {
                "文件为空：第 1 行应为表头（姓名、身份证号码、合作银行…），请使用下载的模板".into()
            }
            FileError::MissingColumns { missing, found } => format!(
                "表头缺少必填列：{}；文件中的表头为：{}。请使用下载的模板，第 1 行为表头",
                missing
                    .iter()
                    .map(|c| c.header())
                    .collect::<Vec<_>>()
                    .join("、"),
                found.join("、")
            ),
            FileError::DuplicateColumn { column } => {
                format!("表头中“{}”列出现了两次，请删除多余的一列", column.header())
            }
            FileError::TooManyRows { rows } => {
                format!("文件有 {rows} 行，超过单个文件上限 {MAX_ROWS} 行，请拆分后分批上传")
            }
            FileError::Malformed { line, detail } => {
                format!("第 {line} 行格式有误（{detail}），请检查引号和分隔符")
            }
        }
    }
    fn en(&self) -> String {
        match self {
            FileError::Empty => "the file is empty: row 1 must be the header (name, ID number, bank, …); use the template".into(),
            FileError::MissingColumns { missing, found } => format!(
                "required columns missing from the header: {}; the file's headers are: {}. Use the template; row 1 is the header",
                missing.iter().map(|c| c.en()).collect::<Vec<_>>().join(", "),
                found.join(", ")
            ),
            FileError::DuplicateColumn { column } => format!("the column \"{}\" appears twice in the header; remove one", column.en()),
            FileError::TooManyRows { rows } => format!("the file has {rows} rows, more than the limit of {MAX_ROWS}; split it"),
            FileError::Malformed { line, detail } => format!("line {line} is malformed ({detail}); check quotes and separators"),
        }
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}（{}）", self.zh(), self.en())
    }
}

impl std::error::Error for FileError {}

/// Decodes text: UTF-8 (a BOM is dropped) when it is valid UTF-8, else GB18030 (a superset of
/// GBK, which Excel on Chinese Windows writes).
pub fn decode(bytes: &[u8]) -> (String, &'static str) {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), "UTF-8"),
        Err(_) => (
            encoding_rs::GB18030
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
            "GB18030",
        ),
    }
}

/// A problem of one row of a file, for the parsers of every kind of file here.
pub(crate) fn row_problem(
    row: usize,
    column: &str,
    code: &str,
    zh: String,
    en: String,
) -> RowProblem {
    RowProblem {
        row,
        column: column.to_owned(),
        code: code.to_owned(),
        message: zh,
        message_en: en,
    }
}

fn problem(row: usize, column: Column, e: &impl Bilingual) -> RowProblem {
    RowProblem {
        row,
        column: column.header().to_owned(),
        code: e.code().to_owned(),
        message: e.zh(),
        message_en: e.en(),
    }
}

fn plain(row: usize, column: Column, code: &str, zh: String, en: String) -> RowProblem {
    RowProblem {
        row,
        column: column.header().to_owned(),
        code: code.to_owned(),
        message: zh,
        message_en: en,
    }
}

/// Parses a CSV employee list. `is_bank` says whether a bank code or short name is a partner
/// bank that takes applications.
pub fn parse_csv(bytes: &[u8], is_bank: &dyn Fn(&str) -> bool) -> Result<Parsed, FileError> {
    let (encoding, grid) = read_csv_grid(bytes)?;
    parse_grid(encoding, grid, is_bank)
}

/// Each record's line number (header = 1) and cells.
pub(crate) type Grid = Vec<(usize, Vec<String>)>;

/// The cells of a CSV file (UTF-8 or GB18030) with each record's line number (header = 1), and
/// the encoding found.
pub(crate) fn read_csv_grid(bytes: &[u8]) -> Result<(&'static str, Grid), FileError> {
    read_csv_grid_up_to(bytes, MAX_ROWS)
}

/// [`read_csv_grid`] for files that may hold up to `max_rows` rows.
pub(crate) fn read_csv_grid_up_to(
    bytes: &[u8],
    max_rows: usize,
) -> Result<(&'static str, Grid), FileError> {
    let (text, encoding) = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut lines = LineCounter {
        text: text.as_bytes(),
        at: 0,
        line: 1,
    };
    let mut grid = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| malformed(&e))?;
        // The line where the record starts, counted from the bytes (the csv crate's own line
        // count skips empty lines, spreadsheets' numbering does not).
        let row = record
            .position()
            .map_or(0, |p| lines.line_at(p.byte() as usize));
        grid.push((row, record.iter().map(str::to_owned).collect::<Vec<_>>()));
        if grid.len() > max_rows + 1 {
            return Err(FileError::TooManyRows {
                rows: grid.len() - 1,
            });
        }
    }
    Ok((encoding, grid))
}

/// Checks rows of cells (with their row numbers): the first non-empty row is the header.
fn parse_grid(
    encoding: &'static str,
    grid: Vec<(usize, Vec<String>)>,
    is_bank: &dyn Fn(&str) -> bool,
) -> Result<Parsed, FileError> {
    let non_empty: Vec<(usize, Vec<String>)> = grid
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .collect();
    // The header is the first row (of the first ten) that names a known column: titles above it
    // ("2026 年社保卡批量申领") are skipped. Without one, the first row is taken and reported.
    let at = non_empty
        .iter()
        .take(10)
        .position(|(_, cells)| cells.iter().any(|c| Column::from_header(c).is_some()))
        .unwrap_or(0);
    let mut rows = non_empty.into_iter().skip(at);
    let Some((_, header)) = rows.next() else {
        return Err(FileError::Empty);
    };
    let mut columns: HashMap<Column, usize> = HashMap::new();
    let mut found = Vec::new();
    for (i, cell) in header.iter().enumerate() {
        found.push(cell.trim().trim_start_matches('\u{FEFF}').to_owned());
        if let Some(c) = Column::from_header(cell)
            && columns.insert(c, i).is_some()
        {
            return Err(FileError::DuplicateColumn { column: c });
        }
    }
    let missing: Vec<Column> = Column::ALL
        .into_iter()
        .filter(|c| c.required() && !columns.contains_key(c))
        .collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns { missing, found });
    }
    let mut parsed = Parsed {
        encoding,
        ..Parsed::default()
    };
    let mut first_row_of: HashMap<ResidentId, usize> = HashMap::new();
    let mut count = 0;
    for (row, record) in rows {
        count += 1;
        if count > MAX_ROWS {
            return Err(FileError::TooManyRows { rows: count });
        }
        let cells: HashMap<Column, String> = columns
            .iter()
            .map(|(c, i)| (*c, record.get(*i).map_or("", |v| v.trim()).to_owned()))
            .collect();
        check_row(row, &cells, is_bank, &mut first_row_of, &mut parsed);
    }
    Ok(parsed)
}

/// Parses the first sheet of an `.xlsx` workbook. Row numbers are the sheet's own; a merged
/// region's value applies to every cell it covers (HR lists merge workshop cells); a formula
/// cell counts by its cached value, and one without a value is reported.
pub fn parse_xlsx(bytes: &[u8], is_bank: &dyn Fn(&str) -> bool) -> Result<Parsed, FileError> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|e| {
            FileError::Malformed {
                line: 0,
                detail: format!("not an .xlsx workbook: {e}"),
            }
        })?;
    let Some(name) = book.sheet_names().first().cloned() else {
        return Err(FileError::Empty);
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| FileError::Malformed {
            line: 0,
            detail: e.to_string(),
        })?;
    let formulas = book.worksheet_formula(&name).ok();
    let Some((top, left)) = range.start() else {
        return Err(FileError::Empty);
    };
    let mut grid: Vec<(usize, Vec<String>)> = range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut row: Vec<String> = vec![String::new(); left as usize];
            row.extend(cells.iter().map(|c| match c {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
                other => other.to_string(),
            }));
            (top as usize + i + 1, row)
        })
        .collect();
    if grid.len() > MAX_ROWS + 1 {
        return Err(FileError::TooManyRows {
            rows: grid.len() - 1,
        });
    }
    if let Ok(merged) = book.merge_cells_by_sheet_name(&name) {
        fill_merged(&mut grid, &merged);
    }
    if let Some(formulas) = formulas {
        mark_formulas_without_value(&mut grid, &formulas);
    }
    parse_grid("xlsx", grid, is_bank)
}

/// Turns byte offsets (increasing) into 1-based line numbers in one pass over the text.
struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    line: usize,
}

impl LineCounter<'_> {
    /// The line of the first character of the record starting at `byte`; the csv reader's
    /// record positions include the empty lines it skipped before the record.
    fn line_at(&mut self, byte: usize) -> usize {
        let mut start = byte.min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\n' | b'\r') {
            start += 1;
        }
        if start >= self.at {
            // A plain count: this runs once per record over the bytes since the last one.
            #[allow(clippy::naive_bytecount)]
            let newlines = self.text[self.at..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.line += newlines;
            self.at = start;
        }
        self.line
    }
}

/// A cell that is a formula without a value, or too long.
fn unreadable_cell(row: usize, c: Column, value: &str) -> Option<RowProblem> {
    if value.starts_with('=') {
        return Some(plain(
            row,
            c,
            "row.formula",
            format!(
                "“{}”列是没有计算结果的公式，请在表格中把公式转换为数值后再上传",
                c.header()
            ),
            format!(
                "the {} cell is a formula without a value; convert formulas to values and upload again",
                c.en()
            ),
        ));
    }
    let n = value.chars().count();
    (n > MAX_CELL_CHARS).then(|| {
        plain(
            row,
            c,
            "row.cell_too_long",
            format!(
                "“{}”列内容有 {n} 个字符，超过 {MAX_CELL_CHARS} 个",
                c.header()
            ),
            format!(
                "the {} cell has {n} characters, more than {MAX_CELL_CHARS}",
                c.en()
            ),
        )
    })
}

/// Checks one row; a good row joins `parsed.rows`, every problem joins `parsed.problems`.
fn check_row(
    row: usize,
    cells: &HashMap<Column, String>,
    is_bank: &dyn Fn(&str) -> bool,
    first_row_of: &mut HashMap<ResidentId, usize>,
    parsed: &mut Parsed,
) {
    let cell = |c: Column| cells.get(&c).map_or("", String::as_str);
    let before = parsed.problems.len();
    // Cells that cannot be read at all: the row is reported without further checks.
    parsed.problems.extend(
        Column::ALL
            .into_iter()
            .filter_map(|c| unreadable_cell(row, c, cell(c))),
    );
    if parsed.problems.len() > before {
        return;
    }
    let id = ResidentId::parse(cell(Column::IdNumber))
        .map_err(|e| parsed.problems.push(problem(row, Column::IdNumber, &e)))
        .ok();
    let name = PersonName::parse(cell(Column::Name))
        .map_err(|e| problem(row, Column::Name, &e))
        .and_then(|n| {
            n.chip_name()
                .map(|_| n)
                .map_err(|e| problem(row, Column::Name, &e))
        })
        .map_err(|p| parsed.problems.push(p))
        .ok();
    let bank = cell(Column::Bank).to_owned();
    if !is_bank(&bank) {
        parsed.problems.push(plain(
            row,
            Column::Bank,
            "row.unknown_bank",
            format!("合作银行“{bank}”不在可选范围内，请填写合作银行代码或简称（如 105 或 CCB）"),
            format!("bank \"{bank}\" is not a partner bank taking applications; use its code or short name (e.g. 105 or CCB)"),
        ));
    }
    let phone = Some(cell(Column::Phone))
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    if let Some(p) = &phone
        && !(p.len() == 11 && p.starts_with('1') && p.chars().all(|c| c.is_ascii_digit()))
    {
        parsed.problems.push(plain(
            row,
            Column::Phone,
            "row.phone",
            "手机号码应为以 1 开头的 11 位数字".into(),
            "a mobile number has 11 digits starting with 1".into(),
        ));
    }
    if let Some(id) = id {
        if let Some(first) = first_row_of.get(&id) {
            parsed.problems.push(plain(
                row,
                Column::IdNumber,
                "row.duplicate",
                format!("身份证号码与第 {first} 行重复，同一人只能申领一次，请删除重复行"),
                format!("the ID number repeats row {first}; one person applies once, remove the duplicate"),
            ));
            return;
        }
        first_row_of.insert(id, row);
    }
    if parsed.problems.len() > before {
        return;
    }
    let (Some(id), Some(name)) = (id, name) else {
        return;
    };
    let opt = |c: Column| Some(cell(c)).filter(|v| !v.is_empty()).map(str::to_owned);
    parsed.rows.push(EmployeeRow {
        row,
        id,
        name,
        bank,
        phone,
        workshop: opt(Column::Workshop),
        department: opt(Column::Department),
        photo: opt(Column::Photo),
    });
}

/// Copies each merged region's top-left value into every cell it covers.
fn fill_merged(grid: &mut [(usize, Vec<String>)], merged: &[calamine::Dimensions]) {
    for dim in merged {
        let (r0, c0) = (dim.start.0 as usize, dim.start.1 as usize);
        let value = grid
            .iter()
            .find(|(n, _)| *n == r0 + 1)
            .and_then(|(_, r)| r.get(c0))
            .cloned()
            .unwrap_or_default();
        for (n, cells) in grid.iter_mut() {
            if (r0 + 1..=dim.end.0 as usize + 1).contains(n) {
                for c in c0..=dim.end.1 as usize {
                    if c >= cells.len() {
                        cells.resize(c + 1, String::new());
                    }
                    if cells[c].is_empty() {
                        cells[c].clone_from(&value);
                    }
                }
            }
        }
    }
}

/// Marks formula cells that carry no cached value (`=FORMULA`), so their row is reported.
fn mark_formulas_without_value(
    grid: &mut [(usize, Vec<String>)],
    formulas: &calamine::Range<String>,
) {
    let Some((ftop, fleft)) = formulas.start() else {
        return;
    };
    for (i, frow) in formulas.rows().enumerate() {
        let n = ftop as usize + i + 1;
        for (j, f) in frow.iter().enumerate() {
            let c = fleft as usize + j;
            if f.is_empty() {
                continue;
            }
            if let Some((_, cells)) = grid.iter_mut().find(|(r, _)| *r == n)
                && cells.get(c).is_none_or(String::is_empty)
            {
                if c >= cells.len() {
                    cells.resize(c + 1, String::new());
                }
                cells[c] = format!("={f}");
            }
        }
    }
}

fn malformed(e: &csv::Error) -> FileError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    FileError::Malformed {
        line,
        detail: e.to_string(),
    }
}
