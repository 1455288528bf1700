//! Applications and cards: applying, the card lifecycle's events, reissue and exchange, the
//! lapse of temporary losses, the card view.

use super::*;

pub(super) async fn allocate_card_number(
    tx: &mut Tx<'_>,
    cfg: &Config,
) -> Result<CardNumber, StoreError> {
    let value: i64 = sqlx::query_scalar(NEXT_CARD_NUMBER)
        .fetch_one(&mut **tx)
        .await?;
    cfg.card_numbers
        .number(u64::try_from(value).unwrap_or_default())
        .map_err(|e| StoreError::refused(&e))
}

/// What a new card row needs besides its state.
pub(super) struct NewCard<'a> {
    pub(super) person_id: Uuid,
    pub(super) application_id: Option<Uuid>,
    pub(super) bank_code: &'a str,
}

/// Writes the difference between the loaded cards and the holder after an event: changed cards
/// are updated under their version, produced cards inserted. `touched` cards are updated (and
/// their version bumped) even if their state did not change, so concurrent uses serialise.
#[allow(clippy::too_many_arguments)]
pub(super) async fn persist(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    cfg: &Config,
    before: &[CardRow],
    after: &Holder,
    effects: &[Effect],
    touched: Option<&CardNumber>,
    new_card: &NewCard<'_>,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    for (number, state) in after.cards() {
        match before.iter().find(|c| &c.number == number) {
            Some(row) if &row.state != state || touched == Some(number) => {
                let updated = sqlx::query(
                    "UPDATE cards SET ss_status = $1, financial_status = $2, handed_over = $3, \
                     first_used = $4, superseded_by = $5, temporary_loss_since = $6, \
                     ss_before_loss = $7, financial_before_loss = $8, updated_at = $9, \
                     last_used_at = CASE WHEN $10 THEN $9 ELSE last_used_at END, \
                     version = version + 1 WHERE id = $11 AND version = $12",
                )
                .bind(i16::from(state.ss.code()))
                .bind(state.financial.as_str())
                .bind(state.handed_over)
                .bind(state.first_used)
                .bind(state.superseded_by.map(|n| n.as_str().to_owned()))
                .bind(state.temporary_loss_since)
                .bind(state.ss_before_loss.map(|s| i16::from(s.code())))
                .bind(state.financial_before_loss.map(FinancialStatus::as_str))
                .bind(ctx.at)
                .bind(touched == Some(number))
                .bind(row.id)
                .bind(row.version)
                .execute(&mut **tx)
                .await?;
                if updated.rows_affected() != 1 {
                    return Err(StoreError::Retry);
                }
                let (was, is) = (
                    sscard_core::CheckResult::blocking(&row.state),
                    sscard_core::CheckResult::blocking(state),
                );
                if was != is {
                    record_deny_change(tx, number, is, ctx.at).await?;
                }
            }
            Some(_) => {}
            None => insert_card(tx, ctx, cfg, *number, state, new_card).await?,
        }
    }
    for effect in effects {
        match effect {
            Effect::Produced { card } => {
                audit.push(
                    "card.produce",
                    card.as_str(),
                    json!({ "bank": new_card.bank_code }),
                );
            }
            Effect::Changed { card, event } => {
                let s = after.card(card).expect("changed card exists");
                audit.push(
                    format!("card.{event}"),
                    card.as_str(),
                    json!({ "ss_status": s.ss.as_str(), "financial_status": s.financial.as_str() }),
                );
                if let Some(row) = before.iter().find(|c| &c.number == card)
                    && let Some(notice) = notice_for(event, &row.state, s)
                {
                    notify_bank(tx, ctx, card, &row.bank_code, notice, None).await?;
                }
            }
            Effect::Superseded { card, by } => {
                let s = after.card(card).expect("superseded card exists");
                audit.push(
                    "card.supersede",
                    card.as_str(),
                    json!({ "by": by.as_str(), "financial_status": s.financial.as_str() }),
                );
                if let Some(row) = before.iter().find(|c| &c.number == card)
                    && row.state.financial != FinancialStatus::NotOpened
                {
                    let notice = sscard_core::CentreNotice::Superseded;
                    notify_bank(tx, ctx, card, &row.bank_code, notice, Some(by.as_str())).await?;
                }
            }
        }
    }
    Ok(())
}

pub(super) async fn insert_card(
    tx: &mut Tx<'_>,
    ctx: &Ctx,
    cfg: &Config,
    number: CardNumber,
    state: &CardState,
    new_card: &NewCard<'_>,
) -> Result<(), StoreError> {
    let chip: [u8; 8] = rand::random();
    let code = CardIdCode::new(cfg.issuer_region, chip);
    let issue = china_date(ctx.at);
    // Cards are valid for ten years (issue 2021-12-03 → expiry 2031-12-02 in the field).
    let expiry = issue
        .with_year(issue.year() + 10)
        .unwrap_or(issue)
        .pred_opt()
        .unwrap_or(issue);
    sqlx::query(
        "INSERT INTO cards (id, card_number, card_id_code, person_id, application_id, bank_code, \
         generation, issue_date, expiry_date, ss_status, financial_status, handed_over, first_used, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'third', $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(Uuid::now_v7())
    .bind(number.as_str())
    .bind(code.as_str())
    .bind(new_card.person_id)
    .bind(new_card.application_id)
    .bind(new_card.bank_code)
    .bind(issue)
    .bind(expiry)
    .bind(i16::from(state.ss.code()))
    .bind(state.financial.as_str())
    .bind(state.handed_over)
    .bind(state.first_used)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) fn china_date(at: DateTime<Utc>) -> NaiveDate {
    (at + chrono::Duration::hours(8)).date_naive()
}

/// Moves the application that produced `card` along with the card's event.
pub(super) async fn follow_application(
    tx: &mut Tx<'_>,
    application_id: Option<Uuid>,
    event: &CardEvent,
    ctx: &Ctx,
    audit: &mut Audit,
) -> Result<(), StoreError> {
    let Some(id) = application_id else {
        return Ok(());
    };
    let app_event = match event {
        CardEvent::HandOver => ApplicationEvent::HandOver,
        CardEvent::ActivateSs | CardEvent::FirstUse => ApplicationEvent::Activate,
        CardEvent::Cancel => ApplicationEvent::Cancel,
        _ => return Ok(()),
    };
    step_application(tx, id, app_event, ctx, audit).await
}

pub(crate) async fn apply(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    req: &ApplyRequest,
) -> Result<ApplyOutcome, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let bank = find_bank(&mut tx, &req.bank).await?;
        if bank.legacy {
            return Err(StoreError::Refused {
                code: "bank.legacy",
                zh: format!(
                    "{}（{}）已不再受理新的社保卡申领，请选择其他合作银行",
                    bank.name_zh, bank.code
                ),
                en: format!(
                    "{} ({}) no longer takes new card applications; choose another partner bank",
                    bank.name_en, bank.code
                ),
            });
        }
        let person_id = upsert_person(&mut tx, ctx, &req.person, &mut audit).await?;
        let cards = cards_of(&mut *tx, person_id).await?;
        let holder = holder_of(&cards);
        let replaces = holder
            .check_application(req.kind)
            .map_err(|e| StoreError::refused(&e))?;
        if let (BusinessType::Exchange, Some(old)) = (req.kind, &replaces) {
            check_rollout(&mut tx, ctx, person_id, old).await?;
        }
        create_application(
            &mut tx, cfg, ctx, req, &bank, person_id, &cards, &holder, replaces, &mut audit,
        )
        .await?
    })
}

/// Records an application and, when instant, produces its card. Shared by `apply` and the
/// card-number based reissue/exchange.
#[allow(clippy::too_many_arguments)]
pub(super) async fn create_application(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    req: &ApplyRequest,
    bank: &Bank,
    person_id: Uuid,
    cards: &[CardRow],
    holder: &Holder,
    replaces: Option<CardNumber>,
    audit: &mut Audit,
) -> Result<ApplyOutcome, StoreError> {
    let application_id = Uuid::now_v7();
    let status = if req.instant {
        ApplicationStatus::Initial
            .apply(ApplicationEvent::IssueInstantly)
            .map_err(|e| StoreError::refused(&e))?
    } else {
        ApplicationStatus::Initial
    };
    sqlx::query(
        "INSERT INTO applications (id, person_id, business_type, source, bank_code, status, \
         replaces_card, outlet, reason, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(application_id)
    .bind(person_id)
    .bind(req.kind.code())
    .bind(match req.source {
        ApplicationSource::Individual => "individual",
        ApplicationSource::Employer => "employer",
    })
    .bind(&bank.code)
    .bind(status.code())
    .bind(replaces.map(|c| c.as_str().to_owned()))
    .bind(&req.outlet)
    .bind(&ctx.reason)
    .bind(ctx.at)
    .execute(&mut **tx)
    .await?;
    audit.push(
        "application.create",
        application_id.to_string(),
        json!({
            "person": req.person.id.masked(),
            "business_type": req.kind.code(),
            "bank": bank.code,
            "instant": req.instant,
            "replaces": replaces.map(|c| c.as_str().to_owned()),
        }),
    );
    let mut card_number = None;
    if req.instant {
        let new = allocate_card_number(tx, cfg).await?;
        let event = match (req.kind, replaces) {
            (BusinessType::Reissue, Some(old)) => HolderEvent::Reissue { old, new },
            (BusinessType::Exchange | BusinessType::WarrantyExchange, Some(old)) => {
                HolderEvent::Exchange { old, new }
            }
            _ => HolderEvent::IssueNew { card: new },
        };
        let (after, effects) = holder.apply(&event).map_err(|e| StoreError::refused(&e))?;
        let new_card = NewCard {
            person_id,
            application_id: Some(application_id),
            bank_code: &bank.code,
        };
        persist(
            tx, ctx, cfg, cards, &after, &effects, None, &new_card, audit,
        )
        .await?;
        sqlx::query("UPDATE applications SET card_number = $1 WHERE id = $2")
            .bind(new.as_str())
            .bind(application_id)
            .execute(&mut **tx)
            .await?;
        if let Some(old) = replaces {
            // The new card's bank opens an account for it.
            let notice = sscard_core::CentreNotice::NewCard;
            notify_bank(tx, ctx, &new, &bank.code, notice, Some(old.as_str())).await?;
        }
        card_number = Some(new);
    }
    Ok(ApplyOutcome {
        application_id,
        card_number,
        replaces,
    })
}

pub(crate) async fn card_event(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: &CardNumber,
    event: CardEvent,
) -> Result<CardView, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        apply_card_event(&mut tx, cfg, ctx, number, &event, &mut audit).await?;
        let card = card_by_number(&mut *tx, number).await?;
        view_card(&mut tx, cfg, card).await?
    })
}

/// Applies one card event inside a transaction: the holder's rules, the card rows, and the
/// application that produced the card. Returns the holder after it and what it caused.
pub(super) async fn apply_card_event(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    number: &CardNumber,
    event: &CardEvent,
    audit: &mut Audit,
) -> Result<(Holder, Vec<Effect>), StoreError> {
    let card = card_by_number(&mut **tx, number).await?;
    apply_card_event_on(tx, cfg, ctx, card, event, audit).await
}

/// [`apply_card_event`] on a card row read earlier in the same transaction (its version
/// guards the write).
pub(super) async fn apply_card_event_on(
    tx: &mut Tx<'_>,
    cfg: &Config,
    ctx: &Ctx,
    card: CardRow,
    event: &CardEvent,
    audit: &mut Audit,
) -> Result<(Holder, Vec<Effect>), StoreError> {
    let number = &card.number;
    // A bank acts on its own cards only.
    ctx.actor.check_bank(&card.bank_code)?;
    let cards = cards_of(&mut **tx, card.person_id).await?;
    let holder = holder_of(&cards);
    let (after, effects) = holder
        .apply(&HolderEvent::Card {
            card: *number,
            event: event.clone(),
        })
        .map_err(|e| StoreError::refused(&e))?;
    let touched = matches!(event, CardEvent::FirstUse).then_some(number);
    let new_card = NewCard {
        person_id: card.person_id,
        application_id: None,
        bank_code: &card.bank_code,
    };
    persist(
        tx, ctx, cfg, &cards, &after, &effects, touched, &new_card, audit,
    )
    .await?;
    follow_application(tx, card.application_id, event, ctx, audit).await?;
    Ok((after, effects))
}

pub(crate) async fn replace_card(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: &CardNumber,
    kind: BusinessType,
) -> Result<ApplyOutcome, StoreError> {
    unit_of_work!(pool, ctx, |tx, audit| {
        let card = card_by_number(&mut *tx, number).await?;
        ctx.actor.check_bank(&card.bank_code)?;
        let cards = cards_of(&mut *tx, card.person_id).await?;
        let holder = holder_of(&cards);
        let replaces = holder
            .check_application(kind)
            .map_err(|e| StoreError::refused(&e))?;
        if replaces != Some(*number) {
            return Err(StoreError::refused(&sscard_core::HolderError::Card {
                card: *number,
                error: if kind == BusinessType::Reissue {
                    sscard_core::CardRuleError::NotFormalLoss
                } else {
                    sscard_core::CardRuleError::AlreadySuperseded
                },
            }));
        }
        if kind == BusinessType::Exchange {
            check_rollout(&mut tx, ctx, card.person_id, number).await?;
        }
        let person: PersonRow = sqlx::query(&format!("{PERSON_SELECT} WHERE p.id = $1"))
            .bind(card.person_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)
            .and_then(|r| person_from_row(&r))?;
        let bank = find_bank(&mut tx, &card.bank_code).await?;
        let id = ResidentId::parse_on(&person.ssn, NaiveDate::MAX).map_err(|_| corrupt("ssn"))?;
        let name = sscard_ids::PersonName::parse(&person.name).map_err(|_| corrupt("name"))?;
        let req = ApplyRequest {
            person: PersonInput::new(id, name),
            bank: bank.code.clone(),
            kind,
            source: ApplicationSource::Individual,
            instant: true,
            outlet: None,
        };
        create_application(
            &mut tx,
            cfg,
            ctx,
            &req,
            &bank,
            card.person_id,
            &cards,
            &holder,
            replaces,
            &mut audit,
        )
        .await?
    })
}

pub(crate) async fn overdue_temporary_losses(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
) -> Result<Vec<CardNumber>, StoreError> {
    // Filtered here rather than in SQL so the comparison is exact on both backends.
    let rows =
        sqlx::query("SELECT card_number, temporary_loss_since FROM cards WHERE ss_status = 4")
            .fetch_all(pool)
            .await?;
    let mut due = Vec::new();
    for row in rows {
        let since: Option<DateTime<Utc>> = row.try_get("temporary_loss_since")?;
        if since.is_some_and(|s| s + cfg.policy.temporary_loss_lapse <= ctx.at) {
            let number: String = row.try_get("card_number")?;
            due.push(CardNumber::parse(&number).map_err(|_| corrupt("card_number"))?);
        }
    }
    Ok(due)
}

pub(super) async fn view_card(
    conn: &mut <DB as sqlx::Database>::Connection,
    cfg: &Config,
    card: CardRow,
) -> Result<CardView, StoreError> {
    let row = sqlx::query("SELECT ssn, name FROM persons WHERE id = $1")
        .bind(card.person_id)
        .fetch_one(&mut *conn)
        .await?;
    let ssn: String = row.try_get("ssn")?;
    let name: String = row.try_get("name")?;
    Ok(card_view_of(cfg, card, &ssn, &name))
}

pub(super) fn mask_name(name: &str) -> String {
    sscard_ids::PersonName::parse(name).map_or_else(|_| mask_middle(name, 1, 0), |n| n.masked())
}

pub(super) fn card_view_of(cfg: &Config, card: CardRow, ssn: &str, name: &str) -> CardView {
    CardView {
        card_number: card.number,
        card_id_code: card.card_id_code,
        holder_id: mask_middle(ssn, 4, 4),
        holder_name: mask_name(name),
        ss_status: card.state.ss,
        ss_status_code: card.state.ss.code(),
        financial_status: card.state.financial,
        superseded_by: card.state.superseded_by,
        handed_over: card.state.handed_over,
        first_used: card.state.first_used,
        bank_code: card.bank_code,
        issue_date: card.issue_date,
        expiry_date: card.expiry_date,
        temporary_loss_since: card.state.temporary_loss_since,
        temporary_loss_lapses_at: card.state.lapse_due(&cfg.policy),
        application_id: card.application_id,
        allowed: sscard_core::CardAction::allowed(&card.state, Utc::now()),
    }
}

/// One card, for an actor whose scope covers the card's bank.
pub(crate) async fn card_view(
    pool: &Pool,
    cfg: &Config,
    ctx: &Ctx,
    number: &CardNumber,
) -> Result<CardView, StoreError> {
    let mut tx = snapshot(pool).await?;
    let card = card_by_number(&mut *tx, number).await?;
    ctx.actor.check_bank(&card.bank_code)?;
    let view = view_card(&mut tx, cfg, card).await?;
    tx.commit().await?;
    Ok(view)
}
