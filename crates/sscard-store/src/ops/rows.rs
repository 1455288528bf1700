//! Rows as stored and their mapping to values: persons, cards, banks.

use super::*;

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Database {
        detail: format!("stored value not understood: {what}"),
    }
}

pub(super) struct PersonRow {
    pub(super) id: Uuid,
    pub(super) ssn: String,
    pub(super) name: String,
    pub(super) sex: i16,
    pub(super) birth_date: NaiveDate,
    pub(super) household_region: String,
    pub(super) workshop: Option<String>,
    pub(super) department: Option<String>,
    pub(super) employer: Option<String>,
}

pub(super) const PERSON_SELECT: &str = "SELECT p.id, p.ssn, p.name, p.sex, p.birth_date, p.household_region, \
     p.workshop, p.department, e.credit_code AS employer \
     FROM persons p LEFT JOIN employers e ON e.id = p.employer_id";

pub(super) fn person_from_row(row: &DbRow) -> Result<PersonRow, StoreError> {
    Ok(PersonRow {
        id: row.try_get("id")?,
        ssn: row.try_get("ssn")?,
        name: row.try_get("name")?,
        sex: row.try_get("sex")?,
        birth_date: row.try_get("birth_date")?,
        household_region: row.try_get("household_region")?,
        workshop: row.try_get("workshop")?,
        department: row.try_get("department")?,
        employer: row.try_get("employer")?,
    })
}

pub(super) async fn person_by_ssn<'e, E>(
    exec: E,
    ssn: &str,
) -> Result<Option<PersonRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let sql = format!("{PERSON_SELECT} WHERE p.ssn = $1");
    let row = sqlx::query(&sql).bind(ssn).fetch_optional(exec).await?;
    row.as_ref().map(person_from_row).transpose()
}

#[derive(Clone)]
pub(super) struct CardRow {
    pub(super) id: Uuid,
    pub(super) number: CardNumber,
    pub(super) card_id_code: Option<String>,
    pub(super) person_id: Uuid,
    pub(super) application_id: Option<Uuid>,
    pub(super) bank_code: String,
    pub(super) issue_date: NaiveDate,
    pub(super) expiry_date: NaiveDate,
    pub(super) state: CardState,
    pub(super) version: i64,
}

pub(super) const CARD_COLUMNS: &str = "id, card_number, card_id_code, person_id, application_id, bank_code, \
     issue_date, expiry_date, ss_status, financial_status, handed_over, first_used, superseded_by, \
     temporary_loss_since, ss_before_loss, financial_before_loss, version";

pub(super) fn ss_from_code(code: i16) -> Result<SsStatus, StoreError> {
    u8::try_from(code)
        .ok()
        .and_then(SsStatus::from_code)
        .ok_or_else(|| corrupt("ss_status"))
}

pub(super) fn card_from_row(row: &DbRow) -> Result<CardRow, StoreError> {
    let number: String = row.try_get("card_number")?;
    let superseded_by: Option<String> = row.try_get("superseded_by")?;
    let financial: String = row.try_get("financial_status")?;
    let ss_before: Option<i16> = row.try_get("ss_before_loss")?;
    let fin_before: Option<String> = row.try_get("financial_before_loss")?;
    let state = CardState {
        ss: ss_from_code(row.try_get("ss_status")?)?,
        financial: FinancialStatus::from_name(&financial)
            .ok_or_else(|| corrupt("financial_status"))?,
        handed_over: row.try_get("handed_over")?,
        first_used: row.try_get("first_used")?,
        superseded_by: superseded_by
            .map(|s| CardNumber::parse(&s).map_err(|_| corrupt("superseded_by")))
            .transpose()?,
        temporary_loss_since: row.try_get("temporary_loss_since")?,
        ss_before_loss: ss_before.map(ss_from_code).transpose()?,
        financial_before_loss: fin_before
            .map(|f| FinancialStatus::from_name(&f).ok_or_else(|| corrupt("financial_before_loss")))
            .transpose()?,
    };
    Ok(CardRow {
        id: row.try_get("id")?,
        number: CardNumber::parse(&number).map_err(|_| corrupt("card_number"))?,
        card_id_code: row.try_get("card_id_code")?,
        person_id: row.try_get("person_id")?,
        application_id: row.try_get("application_id")?,
        bank_code: row.try_get("bank_code")?,
        issue_date: row.try_get("issue_date")?,
        expiry_date: row.try_get("expiry_date")?,
        state,
        version: row.try_get("version")?,
    })
}

pub(super) async fn cards_of<'e, E>(exec: E, person_id: Uuid) -> Result<Vec<CardRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE person_id = $1 ORDER BY created_at, card_number"
    );
    let rows = sqlx::query(&sql).bind(person_id).fetch_all(exec).await?;
    rows.iter().map(card_from_row).collect()
}

pub(super) async fn card_by_number<'e, E>(
    exec: E,
    number: &CardNumber,
) -> Result<CardRow, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
{
    let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE card_number = $1");
    let row = sqlx::query(&sql)
        .bind(number.as_str())
        .fetch_optional(exec)
        .await?;
    match row {
        Some(row) => card_from_row(&row),
        None => Err(StoreError::NotFound {
            what: "card",
            key: number.to_string(),
        }),
    }
}

pub(super) fn holder_of(cards: &[CardRow]) -> Holder {
    Holder::from_cards(cards.iter().map(|c| (c.number, c.state.clone())))
}

pub(super) async fn find_bank(tx: &mut Tx<'_>, key: &str) -> Result<Bank, StoreError> {
    let row = sqlx::query(
        "SELECT code, short_name, name_zh, name_en, service_phone, legacy FROM banks \
         WHERE code = $1 OR upper(short_name) = upper($1)",
    )
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref()
        .map(bank_from_row)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
            what: "bank",
            key: key.to_owned(),
        })
}

pub(super) fn bank_from_row(row: &DbRow) -> Result<Bank, StoreError> {
    Ok(Bank {
        code: row.try_get("code")?,
        short_name: row.try_get("short_name")?,
        name_zh: row.try_get("name_zh")?,
        name_en: row.try_get("name_en")?,
        service_phone: row.try_get("service_phone")?,
        legacy: row.try_get("legacy")?,
    })
}
