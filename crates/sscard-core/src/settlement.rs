//! The settlement arithmetic of `settlement-rules.md`, as pure functions: a fee line classified
//! by the treatment place's catalogue (§2), a visit settled under the insured place's policy
//! against the person's yearly accumulators (§3), and its cancellation, which moves every
//! accumulator back exactly. Amounts are [`Money`] (cents), ratios [`Fixed4`]; every rounding
//! is to the cent, half away from zero. Field names are the NHSA interface's.

use serde::{Deserialize, Serialize};

use crate::money::{Fixed4, Money};

/// Whether `code` is a city's region code (six digits ending in `00`, e.g. `321200`): an
/// insured place, a treatment place, a pooling region.
pub fn is_city_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && code.ends_with("00")
}

/// A catalogue item's class (`chrgitm_lv`): 甲 fully in scope, 乙 in scope after a pay-first
/// share, 丙 out of scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemClass {
    /// 甲 (`01`).
    #[serde(rename = "01")]
    A,
    /// 乙 (`02`).
    #[serde(rename = "02")]
    B,
    /// 丙 (`03`).
    #[serde(rename = "03")]
    C,
}

impl ItemClass {
    /// From the catalogue's `01` / `02` / `03`.
    pub fn from_code(code: &str) -> Option<ItemClass> {
        match code {
            "01" => Some(ItemClass::A),
            "02" => Some(ItemClass::B),
            "03" => Some(ItemClass::C),
            _ => None,
        }
    }

    /// `01` / `02` / `03`.
    pub fn code(self) -> &'static str {
        match self {
            ItemClass::A => "01",
            ItemClass::B => "02",
            ItemClass::C => "03",
        }
    }
}

/// One catalogue entry of the treatment region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueItem {
    /// Class.
    pub class: ItemClass,
    /// The 乙 pay-first share (0 for 甲, ignored for 丙).
    pub selfpay_prop: Fixed4,
    /// Unit price limit, if any.
    pub price_cap: Option<Money>,
}

/// A fee line as the HIS sends it (2204 / 2301).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeLine {
    /// Unit price (`pric`), up to four decimals.
    pub pric: Fixed4,
    /// Count (`cnt`), up to four decimals.
    pub cnt: Fixed4,
    /// The line's amount (`det_item_fee_sumamt`).
    pub amount: Money,
}

/// A classified fee line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LineResult {
    /// `det_item_fee_sumamt`.
    pub det_item_fee_sumamt: Money,
    /// Out of the catalogue or 丙: paid by the person in full.
    pub fulamt_ownpay_amt: Money,
    /// Above the price limit.
    pub overlmt_amt: Money,
    /// The 乙 pay-first share.
    pub preselfpay_amt: Money,
    /// In scope.
    pub inscp_scp_amt: Money,
}

/// Why a fee line is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// `pric × cnt`, rounded.
    pub expected: Money,
    /// What the line says.
    pub given: Money,
}

impl sscard_ids::Bilingual for LineError {
    fn code(&self) -> &'static str {
        "settlement.line_amount"
    }
    fn zh(&self) -> String {
        format!(
            "明细金额 {} 与单价×数量 {} 不符（相差超过 0.01 元）",
            self.given, self.expected
        )
    }
    fn en(&self) -> String {
        format!(
            "the line's amount {} is not price × count {} (they differ by more than 0.01)",
            self.given, self.expected
        )
    }
}

crate::display_bilingual!(LineError);

/// Classifies one line by the treatment region's catalogue (`None`: not in it) — §2.
pub fn classify_line(
    line: &FeeLine,
    item: Option<&CatalogueItem>,
) -> Result<LineResult, LineError> {
    let expected = Fixed4::price_times_count(line.pric, line.cnt);
    if (expected - line.amount).cents().abs() > 1 {
        return Err(LineError {
            expected,
            given: line.amount,
        });
    }
    let amount = line.amount;
    let mut out = LineResult {
        det_item_fee_sumamt: amount,
        ..LineResult::default()
    };
    match item {
        None
        | Some(CatalogueItem {
            class: ItemClass::C,
            ..
        }) => out.fulamt_ownpay_amt = amount,
        Some(item) => {
            // Within the limit the line's own amount counts (it may differ from pric × cnt
            // by the cent the HIS rounded); above it, the limit times the count.
            let capped = match item.price_cap {
                Some(cap) if Fixed4::from_units(cap.cents() * 100) < line.pric => {
                    Fixed4::price_times_count(Fixed4::from_units(cap.cents() * 100), line.cnt)
                }
                _ => amount,
            };
            out.overlmt_amt = amount - capped;
            out.preselfpay_amt = if item.class == ItemClass::B {
                capped.times(item.selfpay_prop)
            } else {
                Money::ZERO
            };
            out.inscp_scp_amt = capped - out.preselfpay_amt;
        }
    }
    Ok(out)
}

/// One policy table of the insured place for an insutype and a `med_type` (§1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// 起付线 per person and year for this insutype and `med_type`.
    pub deductible: Money,
    /// Ratios by `hosp_lv` `1`/`2`/`3`.
    pub ratio_by_level: [Fixed4; 3],
    /// Ratio at a pharmacy.
    pub ratio_pharmacy: Fixed4,
    /// The pooled fund's yearly cap per person (all `med_type`s of the insutype).
    pub pool_cap: Money,
    /// Above the cap: the second tier's ratio and cap.
    pub second_tier_ratio: Fixed4,
    /// The second tier's yearly cap.
    pub second_tier_cap: Money,
    /// Cross-region care without a filing: the ratio minus this.
    pub unfiled_reduction: Fixed4,
    /// Whether the personal account may pay.
    pub account: bool,
}

/// Where the visit happens, as the ratio needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Venue {
    /// A hospital of `hosp_lv` 1, 2 or 3.
    Hospital(u8),
    /// A retail pharmacy.
    Pharmacy,
}

/// The person's figures a settlement reads and moves: for the year, the deductible used (of
/// this insutype and `med_type`), the pooled fund and second tier paid (of this insutype), and the
/// personal account's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Accumulators {
    /// Deductible used this year (insutype + `med_type`).
    pub deductible_used: Money,
    /// Pooled fund paid this year (insutype).
    pub pool_paid: Money,
    /// Second tier paid this year (insutype).
    pub tier_paid: Money,
    /// Personal account balance.
    pub balance: Money,
}

/// What a settlement needs besides the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// Where.
    pub venue: Venue,
    /// Treatment region ≠ insured region, and no valid filing for the date (and no emergency).
    pub cross_region_unfiled: bool,
    /// `acct_used_flag = 1`.
    pub use_account: bool,
    /// Residents' insurance (390): the second tier is `hifmi_pay`, else `hifob_pay`.
    pub residents: bool,
}

/// A settlement's amounts (`setlinfo`), every one of the rules file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Settlement {
    /// Total.
    pub medfee_sumamt: Money,
    /// Out of scope in full.
    pub fulamt_ownpay_amt: Money,
    /// Above price limits.
    pub overlmt_selfpay: Money,
    /// 乙 pay-first.
    pub preselfpay_amt: Money,
    /// In scope.
    pub inscp_scp_amt: Money,
    /// Deductible taken by this visit.
    pub act_pay_dedc: Money,
    /// Pooled fund.
    pub hifp_pay: Money,
    /// Employees' large-amount subsidy (second tier of 310).
    pub hifob_pay: Money,
    /// Residents' serious-illness insurance (second tier of 390).
    pub hifmi_pay: Money,
    /// Funds together.
    pub fund_pay_sumamt: Money,
    /// The person's part.
    pub psn_part_amt: Money,
    /// Of it, from the personal account.
    pub acct_pay: Money,
    /// Of it, in cash.
    pub psn_cash_pay: Money,
    /// The institution's part (always 0 here).
    pub hosp_part_amt: Money,
    /// The account balance after.
    pub balc: Money,
}

impl Settlement {
    /// The second tier, whichever fund it is.
    pub fn tier(&self) -> Money {
        self.hifob_pay + self.hifmi_pay
    }

    /// The accumulators after this settlement.
    pub fn applied_to(&self, acc: &Accumulators) -> Accumulators {
        Accumulators {
            deductible_used: acc.deductible_used + self.act_pay_dedc,
            pool_paid: acc.pool_paid + self.hifp_pay,
            tier_paid: acc.tier_paid + self.tier(),
            balance: acc.balance - self.acct_pay,
        }
    }

    /// The cancellation (2208 / 2305): every amount negated, the balance as after it.
    #[must_use]
    pub fn cancellation(&self, acc_now: &Accumulators) -> Settlement {
        let mut c = Settlement {
            medfee_sumamt: -self.medfee_sumamt,
            fulamt_ownpay_amt: -self.fulamt_ownpay_amt,
            overlmt_selfpay: -self.overlmt_selfpay,
            preselfpay_amt: -self.preselfpay_amt,
            inscp_scp_amt: -self.inscp_scp_amt,
            act_pay_dedc: -self.act_pay_dedc,
            hifp_pay: -self.hifp_pay,
            hifob_pay: -self.hifob_pay,
            hifmi_pay: -self.hifmi_pay,
            fund_pay_sumamt: -self.fund_pay_sumamt,
            psn_part_amt: -self.psn_part_amt,
            acct_pay: -self.acct_pay,
            psn_cash_pay: -self.psn_cash_pay,
            hosp_part_amt: -self.hosp_part_amt,
            balc: Money::ZERO,
        };
        c.balc = c.applied_to(acc_now).balance;
        c
    }

    /// The invariants of every result (§3).
    pub fn holds(&self) -> bool {
        self.inscp_scp_amt
            == self.medfee_sumamt
                - self.fulamt_ownpay_amt
                - self.overlmt_selfpay
                - self.preselfpay_amt
            && self.psn_part_amt == self.medfee_sumamt - self.fund_pay_sumamt
            && self.psn_part_amt == self.acct_pay + self.psn_cash_pay
            && self.fund_pay_sumamt == self.hifp_pay + self.tier()
    }
}

/// The ratio the pooled fund pays at for a visit (`pool_prop_selfpay`): by the venue's level
/// (or the pharmacy's), less the reduction for cross-region care without a filing (§3 step 3).
pub fn ratio(policy: &Policy, visit: &Visit) -> Fixed4 {
    let r = match visit.venue {
        Venue::Hospital(level) => policy.ratio_by_level[usize::from(level.clamp(1, 3) - 1)],
        Venue::Pharmacy => policy.ratio_pharmacy,
    };
    if visit.cross_region_unfiled {
        r.minus(policy.unfiled_reduction)
    } else {
        r
    }
}

/// Settles a visit's classified lines under `policy` against `acc` — §3, steps 1–7. Step 8
/// (moving the accumulators) is [`Settlement::applied_to`], in the caller's transaction.
pub fn settle(
    lines: &[LineResult],
    policy: &Policy,
    visit: &Visit,
    acc: &Accumulators,
) -> Settlement {
    let sum = |f: fn(&LineResult) -> Money| lines.iter().map(f).sum::<Money>();
    let mut s = Settlement {
        medfee_sumamt: sum(|l| l.det_item_fee_sumamt),
        fulamt_ownpay_amt: sum(|l| l.fulamt_ownpay_amt),
        overlmt_selfpay: sum(|l| l.overlmt_amt),
        preselfpay_amt: sum(|l| l.preselfpay_amt),
        inscp_scp_amt: sum(|l| l.inscp_scp_amt),
        ..Settlement::default()
    };
    // 1–2. The deductible.
    s.act_pay_dedc = (policy.deductible - acc.deductible_used)
        .at_least_zero()
        .min(s.inscp_scp_amt.at_least_zero());
    let base = s.inscp_scp_amt - s.act_pay_dedc;
    // 3. The ratio.
    let r = ratio(policy, visit);
    // 4–5. The pooled fund up to its cap, then the second tier.
    let wanted = base.times(r);
    s.hifp_pay = wanted.min((policy.pool_cap - acc.pool_paid).at_least_zero());
    let tier = if s.hifp_pay < wanted {
        let uncovered = base - s.hifp_pay.divided_by(r);
        uncovered
            .times(policy.second_tier_ratio)
            .min((policy.second_tier_cap - acc.tier_paid).at_least_zero())
            .at_least_zero()
    } else {
        Money::ZERO
    };
    if visit.residents {
        s.hifmi_pay = tier;
    } else {
        s.hifob_pay = tier;
    }
    // 6–7. The person's part: the account first, if asked and allowed, then cash.
    s.fund_pay_sumamt = s.hifp_pay + tier;
    s.psn_part_amt = s.medfee_sumamt - s.fund_pay_sumamt;
    s.acct_pay = if visit.use_account && policy.account {
        acc.balance
            .at_least_zero()
            .min(s.psn_part_amt.at_least_zero())
    } else {
        Money::ZERO
    };
    s.psn_cash_pay = s.psn_part_amt - s.acct_pay;
    s.balc = acc.balance - s.acct_pay;
    s
}

#[cfg(test)]
mod tests;
