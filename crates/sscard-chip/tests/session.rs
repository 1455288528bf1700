//! Card and terminal sessions: a scripted APDU exchange with exact bytes (including the T=0
//! `61xx` / `6Cxx` paths), a full terminal session producing the `iReadCardBas` string, and the
//! security properties.

use sscard_chip::apdu::sw;
use sscard_chip::card::{CardImage, SoftCard};
use sscard_chip::crypto::{Algorithm, Key16};
use sscard_chip::issue::IssueData;
use sscard_chip::keys::{KeySet, KeyUsage, test_province_keys, test_root_keys};
use sscard_chip::terminal::{InProcess, Psam, TerminalError, in_process};
use sscard_ids::{CardIdCode, CardNumber, PersonName, RegionCode, ResidentId};

const CHIP: [u8; 8] = [0x00, 0xBF, 0x7C, 0x7A, 0x48, 0xFB, 0x49, 0x66];

fn ssn() -> ResidentId {
    ResidentId::from_parts(RegionCode::parse("321202").unwrap(), chrono_date(), 101).unwrap()
}

fn chrono_date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(1988, 8, 8).unwrap()
}

fn issue_data() -> IssueData {
    IssueData {
        card_id_code: CardIdCode::new(RegionCode::parse("321202").unwrap(), CHIP),
        card_number: CardNumber::parse("X00000019").unwrap(),
        ssn: ssn().expose().to_owned(),
        name: PersonName::parse("张三").unwrap().chip_name().unwrap(),
        sex: '1',
        ethnicity: 1,
        birthplace: 321_202,
        birth_date: "19880808".into(),
        issue_date: "20261128".into(),
        expiry: "20361127".into(),
        institution: "321200000001".into(),
        pan: "6217001234567890123".into(),
        photo: vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10],
    }
}

fn image(alg: Algorithm) -> CardImage {
    CardImage::issue(&issue_data(), &test_province_keys(alg))
}

fn psam(keys: KeySet) -> Psam {
    Psam {
        terminal_id: "321200000001".into(),
        device_id: "TZRMYY-HIS-0001".into(),
        keys,
        counter: 0,
    }
}

fn hx(b: &[u8]) -> String {
    hex::encode_upper(b)
}

fn send(card: &mut SoftCard, apdu: &str) -> String {
    hx(&card.process(&hex::decode(apdu.replace(' ', "")).unwrap()))
}

#[test]
fn scripted_apdu_session_with_exact_bytes() {
    let mut card = SoftCard::with_seed(image(Algorithm::Sm4), 7);
    // SELECT SSSE: the FCI waits behind 61 1B (T=0), GET RESPONSE fetches it.
    assert_eq!(
        send(&mut card, "00 A4 04 00 0F 7378312E73682EC9E7BBE1B1A3D5CF"),
        "611B"
    );
    assert_eq!(
        send(&mut card, "00 C0 00 00 1B"),
        "6F19840F7378312E73682EC9E7BBE1B1A3D5CFA5069F0C038601039000"
    );
    // GET RESPONSE with nothing waiting.
    assert_eq!(send(&mut card, "00 C0 00 00 1B"), "6985");
    // READ RECORD 7 of SFI 5 (card number) with Le = 0: 6C 0B, then the resend with Le = 0B.
    assert_eq!(send(&mut card, "00 B2 07 2C 00"), "6C0B");
    assert_eq!(
        send(&mut card, "00 B2 07 2C 0B"),
        format!("0709{}9000", hx(b"X00000019"))
    );
    // Record 1 of SFI 6 (SSN), then tag 09 (name) of the current EF by tag (P2 = 00).
    assert_eq!(
        send(&mut card, "00 B2 01 34 14"),
        format!("0812{}9000", hx(ssn().expose().as_bytes()))
    );
    let mut name = vec![0xD5, 0xC5, 0xC8, 0xFD];
    name.resize(30, 0);
    assert_eq!(
        send(&mut card, "00 B2 09 00 20"),
        format!("091E{}9000", hx(&name))
    );
    // Record 8 of EF05 does not exist; an unknown file is not found; a wrong class is refused.
    assert_eq!(send(&mut card, "00 B2 08 2C 00"), "6A83");
    assert_eq!(send(&mut card, "00 A4 00 00 02 EF09"), "6A82");
    assert_eq!(send(&mut card, "A0 B2 01 2C 00"), "6E00");
    // The photo needs external authentication; EXTERNAL AUTHENTICATE without a challenge is refused.
    assert_eq!(send(&mut card, "00 B0 88 00 00"), "6982");
    assert_eq!(send(&mut card, "00 82 00 0A 08 0000000000000000"), "6984");
    // INTERNAL AUTHENTICATE answers behind 61 08.
    assert_eq!(
        send(
            &mut card,
            "00 88 00 00 10 0102030405060708 1112131415161718"
        ),
        "6108"
    );
    let answer = send(&mut card, "00 C0 00 00 08");
    assert_eq!(answer.len(), 20);
    assert!(answer.ends_with("9000"));
    // Garbage never panics and gets a status word.
    assert_eq!(send(&mut card, "00"), "6700");
}

#[test]
fn terminal_session_gives_the_reader_string() {
    for alg in [Algorithm::Sm4, Algorithm::Tdes] {
        let mut t = in_process(SoftCard::new(image(alg)), psam(test_province_keys(alg)));
        let bas = t.read_card_bas().unwrap();
        let version = if alg == Algorithm::Sm4 {
            "3.00"
        } else {
            "2.00"
        };
        assert_eq!(
            bas,
            format!(
                "321202|{}|X00000019|321202D15600000500BF7C7A48FB4966|张三|0087BF100286493212{}|{version}|20261128|20361127|321200000001|TZRMYY-HIS-0001|",
                ssn().expose(),
                "00BF7C7A"
            )
        );
        t.internal_authenticate().unwrap();
        t.external_authenticate().unwrap();
        assert_eq!(t.read_photo().unwrap(), issue_data().photo);
        t.verify_pin("123456").unwrap();
        let medical = t.read_medical().unwrap();
        assert_eq!(medical[0].0, 0x50);
        t.update_record(5, 2, 0x51, b"390").unwrap();
        assert_eq!(t.read_medical().unwrap()[1].1, b"390".to_vec());
    }
}

#[test]
fn a_cloned_card_fails_internal_authentication() {
    // Same files, keys from another root: a clone made from a read-out card.
    let mut clone = image(Algorithm::Sm4);
    let other_root = KeySet::new(
        Algorithm::Sm4,
        KeyUsage::ALL
            .into_iter()
            .map(|u| (u, Key16::new([u.id(); 16])))
            .collect(),
    );
    clone.keys = other_root.card_keys(321_200, CHIP);
    let mut t = in_process(
        SoftCard::new(clone),
        psam(test_province_keys(Algorithm::Sm4)),
    );
    t.read_basics().unwrap();
    assert_eq!(
        t.internal_authenticate().unwrap_err(),
        TerminalError::NotGenuine
    );
}

#[test]
fn a_terminal_with_wrong_keys_fails_and_the_card_counts_down() {
    let wrong = test_root_keys(Algorithm::Sm4)
        .diversify(&sscard_chip::crypto::DiversificationFactor::Province(33));
    let mut t = in_process(SoftCard::new(image(Algorithm::Sm4)), psam(wrong));
    t.read_basics().unwrap();
    for left in [2u16, 1] {
        assert_eq!(
            t.external_authenticate().unwrap_err(),
            TerminalError::Status {
                command: "EXTERNAL AUTHENTICATE",
                sw: 0x63C0 | left
            }
        );
    }
    assert_eq!(
        t.external_authenticate().unwrap_err(),
        TerminalError::Status {
            command: "EXTERNAL AUTHENTICATE",
            sw: sw::BLOCKED
        }
    );
    // Blocked for good: even the right PSAM is refused now.
    let card = std::mem::replace(
        &mut t.transport().card,
        SoftCard::new(image(Algorithm::Sm4)),
    );
    let mut right = in_process(card, psam(test_province_keys(Algorithm::Sm4)));
    right.read_basics().unwrap();
    assert_eq!(
        right.external_authenticate().unwrap_err(),
        TerminalError::Status {
            command: "EXTERNAL AUTHENTICATE",
            sw: sw::BLOCKED
        }
    );
}

#[test]
fn replayed_or_altered_macs_are_refused() {
    let mut t = in_process(
        SoftCard::new(image(Algorithm::Sm4)),
        psam(test_province_keys(Algorithm::Sm4)),
    );
    t.read_basics().unwrap();
    t.external_authenticate().unwrap();
    t.verify_pin("123456").unwrap();
    t.read_medical().unwrap();
    t.update_record(5, 2, 0x51, b"390").unwrap();
    let update = t
        .transport()
        .trace
        .iter()
        .rev()
        .find(|(c, _)| c[1] == 0xDC)
        .unwrap()
        .0
        .clone();
    let transport: &mut InProcess = t.transport();
    // Replayed as is: the challenge it was made for is spent.
    assert_eq!(hx(&transport.card.process(&update)), "6984");
    // Replayed after a fresh challenge: the MAC no longer fits.
    transport.card.process(&hex::decode("0084000008").unwrap());
    assert_eq!(hx(&transport.card.process(&update)), "6988");
    // Altered value with the old MAC.
    transport.card.process(&hex::decode("0084000008").unwrap());
    let mut altered = update.clone();
    altered[7] ^= 0x01;
    assert_eq!(hx(&transport.card.process(&altered)), "6988");
    // Without secure messaging (CLA 00) an update is refused outright.
    let mut plain = update;
    plain[0] = 0x00;
    assert_eq!(hx(&transport.card.process(&plain)), "6982");
}

#[test]
fn three_wrong_pins_block_and_unblock_resets() {
    let mut t = in_process(
        SoftCard::new(image(Algorithm::Sm4)),
        psam(test_province_keys(Algorithm::Sm4)),
    );
    t.select_ssse().unwrap();
    assert_eq!(
        t.verify_pin("000000").unwrap_err(),
        TerminalError::Pin { tries_left: 2 }
    );
    assert_eq!(
        t.verify_pin("000000").unwrap_err(),
        TerminalError::Pin { tries_left: 1 }
    );
    assert_eq!(
        t.verify_pin("000000").unwrap_err(),
        TerminalError::Pin { tries_left: 0 }
    );
    assert_eq!(
        t.verify_pin("123456").unwrap_err(),
        TerminalError::Pin { tries_left: 0 },
        "blocked"
    );
    // PIN UNBLOCK (84 24) with a MAC under the unblock key resets the counter.
    let key = test_province_keys(Algorithm::Sm4)
        .card_keys(321_200, CHIP)
        .get(KeyUsage::PinUnblock)
        .unwrap()
        .clone();
    let card = &mut t.transport().card;
    let challenge: [u8; 8] = card.process(&hex::decode("0084000008").unwrap())[..8]
        .try_into()
        .unwrap();
    let mac = sscard_chip::crypto::session_mac(
        Algorithm::Sm4,
        &key,
        &challenge,
        &[0x84, 0x24, 0x00, 0x00, 0x04],
    );
    let mut apdu = vec![0x84, 0x24, 0x00, 0x00, 0x04];
    apdu.extend_from_slice(&mac);
    assert_eq!(hx(&card.process(&apdu)), "9000");
    t.verify_pin("123456").unwrap();
}

#[test]
fn partitions_are_separate() {
    // A social-security terminal reads the PAN (as in the field) but not the bank's protected data.
    let mut card = SoftCard::new(image(Algorithm::Sm4));
    assert_eq!(
        send(&mut card, "00 A4 04 00 08 A000000333010101").len(),
        4,
        "61xx"
    );
    card.process(&hex::decode("00C0000000").unwrap());
    let pan = send(&mut card, "00 B2 01 14 0E");
    assert_eq!(pan, "700C5A0A6217001234567890123F9000");
    assert_eq!(send(&mut card, "00 B2 01 1C 00"), "6982");
    // The social-security PIN is not the bank PIN.
    assert_eq!(send(&mut card, "00 20 00 00 03 123456"), "63C2");
    assert_eq!(send(&mut card, "00 20 00 00 03 888888"), "9000");
    assert!(send(&mut card, "00 B2 01 1C 00").starts_with("6C"));
    // A bank terminal (bank keys only) cannot write social-security files.
    let bank_only = test_province_keys(Algorithm::Sm4).only(&[KeyUsage::BankAuth]);
    let mut t = in_process(SoftCard::new(image(Algorithm::Sm4)), psam(bank_only));
    t.read_basics().unwrap();
    assert_eq!(
        t.update_record(6, 5, 0x0A, b"2").unwrap_err(),
        TerminalError::PsamKeyMissing(KeyUsage::UpdateMac)
    );
    assert_eq!(
        t.external_authenticate().unwrap_err(),
        TerminalError::PsamKeyMissing(KeyUsage::ExternalAuth)
    );
    // Nor can it by sending the update without authentication.
    let card = &mut t.transport().card;
    assert_eq!(
        send(card, "00 A4 04 00 0F 7378312E73682EC9E7BBE1B1A3D5CF"),
        "611B"
    );
    assert_eq!(send(card, "04 DC 05 34 07 0A0132 00000000"), "6982");
}

#[test]
fn a_psam_over_apdus_runs_the_same_session() {
    use sscard_chip::psam::{PsamClient, PsamInProcess, SoftPsam};
    use sscard_chip::terminal::Terminal;
    let device = PsamInProcess(SoftPsam::new(psam(test_province_keys(Algorithm::Sm4))));
    let mut client = PsamClient::open(device).unwrap();
    assert_eq!(client.terminal_id().unwrap(), "321200000001");
    assert_eq!(client.counter().unwrap(), 0);
    let mut t = Terminal::new(InProcess::new(SoftCard::new(image(Algorithm::Sm4))), client);
    let bas = t.read_card_bas().unwrap();
    assert!(
        bas.starts_with("321202|") && bas.contains("|X00000019|"),
        "{bas}"
    );
    t.internal_authenticate().unwrap();
    t.external_authenticate().unwrap();
    t.verify_pin("123456").unwrap();
    t.read_medical().unwrap();
    t.update_record(5, 2, 0x51, b"390").unwrap();
    // A PSAM loaded with the bank's key only answers 6A88 for the social-security keys, and the
    // card is not charged a try for it.
    let bank = PsamClient::open(PsamInProcess(SoftPsam::new(psam(
        test_province_keys(Algorithm::Sm4).only(&[KeyUsage::BankAuth]),
    ))))
    .unwrap();
    let mut t = Terminal::new(InProcess::new(SoftCard::new(image(Algorithm::Sm4))), bank);
    t.read_basics().unwrap();
    assert_eq!(
        t.external_authenticate().unwrap_err(),
        TerminalError::Status {
            command: "PSAM INIT",
            sw: sw::KEY_NOT_FOUND
        }
    );
    assert_eq!(t.transport().card.image().ext_auth_tries, 3);
}

#[test]
fn the_terminal_reads_the_algorithm_from_the_fci() {
    let mut t = in_process(
        SoftCard::new(image(Algorithm::Sm4)),
        psam(test_province_keys(Algorithm::Tdes)),
    );
    assert!(
        matches!(t.read_basics().unwrap_err(), TerminalError::BadCardData(m) if m.contains("algorithm"))
    );
    let fci = hex::decode("6F19840F7378312E73682EC9E7BBE1B1A3D5CFA5069F0C03860101").unwrap();
    assert_eq!(
        sscard_chip::terminal::Terminal::<InProcess, Psam>::card_algorithm(&fci).unwrap(),
        Algorithm::Tdes
    );
}

#[test]
fn df01_to_df04_and_ef07() {
    let mut card = SoftCard::new(image(Algorithm::Sm4));
    send(&mut card, "00 A4 04 00 0F 7378312E73682EC9E7BBE1B1A3D5CF");
    // DF01 (public information) by AID: PIN first.
    assert_eq!(send(&mut card, "00 A4 04 00 06 D15600000500"), "6112");
    assert_eq!(send(&mut card, "00 B2 01 2C 05"), "6982");
    assert_eq!(send(&mut card, "00 20 00 00 03 123456"), "9000");
    assert_eq!(send(&mut card, "00 B2 01 2C 05"), "0E033212029000");
    // The PIN holds across the DFs of the SSSE; DF02 exists and has no records yet.
    assert_eq!(send(&mut card, "00 A4 00 00 02 DF02"), "9000");
    assert_eq!(send(&mut card, "00 B2 01 2C 00"), "6A83");
    assert_eq!(send(&mut card, "00 A4 00 00 02 DF04"), "9000");
    assert!(send(&mut card, "00 B2 01 2C 00").starts_with("6C"));
    // EF07 (fingerprint) needs external authentication.
    assert_eq!(send(&mut card, "00 A4 00 00 02 DDF1"), "9000");
    assert_eq!(send(&mut card, "00 B0 87 00 00"), "6982");
}

#[test]
fn access_conditions_never_both_and_change_pin() {
    let mut t = in_process(
        SoftCard::new(image(Algorithm::Sm4)),
        psam(test_province_keys(Algorithm::Sm4)),
    );
    t.read_basics().unwrap();
    t.external_authenticate().unwrap();
    // EF05 (issuer data) is never updated, whatever the terminal proves.
    assert_eq!(
        t.update_record(5, 7, 0x07, b"X00000027").unwrap_err(),
        TerminalError::Status {
            command: "UPDATE RECORD",
            sw: sw::SECURITY
        }
    );
    // EF06 (holder data) can be corrected by an authenticated terminal.
    t.update_record(6, 3, 0x0A, b"2").unwrap();
    // DF04 needs the PIN *and* external authentication for updates.
    let mut fresh = in_process(
        SoftCard::new(image(Algorithm::Sm4)),
        psam(test_province_keys(Algorithm::Sm4)),
    );
    fresh.read_basics().unwrap();
    fresh.verify_pin("123456").unwrap();
    fresh.read_medical().unwrap();
    assert_eq!(
        fresh.update_record(5, 2, 0x51, b"390").unwrap_err(),
        TerminalError::Status {
            command: "UPDATE RECORD",
            sw: sw::SECURITY
        }
    );
    // CHANGE PIN (80 5E 01 00 old FF new).
    let card = &mut t.transport().card;
    assert_eq!(send(card, "80 5E 01 00 07 123456 FF 654321"), "9000");
    assert_eq!(send(card, "00 20 00 00 03 123456"), "63C2");
    assert_eq!(send(card, "00 20 00 00 03 654321"), "9000");
}

#[test]
fn a_card_image_prints_no_pin_key_or_pan() {
    let img = image(Algorithm::Sm4);
    let text = format!("{img:?}");
    assert!(!text.contains(&img.pin), "{text}");
    assert!(!text.contains(&img.bank_pin), "{text}");
    assert!(!text.contains(&img.pan), "{text}");
    assert!(text.contains("pin: \"***\""), "{text}");
}
