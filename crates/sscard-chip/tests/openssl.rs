//! SM4, 3DES and the retail MAC cross-checked against the `openssl` command on random inputs.
//! Without `openssl` the test skips with a reason (fails in CI).

use std::io::Write;
use std::process::{Command, Stdio};

use sscard_chip::crypto::{Algorithm, Key16, pad_method2, retail_mac, sm4_cbc_mac};

fn openssl(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

fn available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the openssl command is missing"
        );
        eprintln!("skipping: the openssl command is not installed");
    }
    ok
}

#[test]
fn sm4_and_tdes_match_openssl() {
    if !available() {
        return;
    }
    for round in 0..8u8 {
        let key_bytes: [u8; 16] =
            std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(round * 11));
        let key = Key16::new(key_bytes);
        let key_hex = hex::encode(key_bytes);
        let data: Vec<u8> = (0..(16 * (round as usize + 1)))
            .map(|i| (i as u8) ^ round)
            .collect();

        // SM4-ECB block by block.
        let mut ours = data.clone();
        for block in ours.chunks_mut(16) {
            key.encrypt_block(Algorithm::Sm4, block);
        }
        let theirs = openssl(&["enc", "-sm4-ecb", "-K", &key_hex, "-nopad"], &data).unwrap();
        assert_eq!(ours, theirs, "SM4 round {round}");

        // SM4-CBC-MAC = the last block of SM4-CBC over the padded data.
        let iv = [round; 16];
        let cbc = openssl(
            &[
                "enc",
                "-sm4-cbc",
                "-K",
                &key_hex,
                "-iv",
                &hex::encode(iv),
                "-nopad",
            ],
            &pad_method2(&data, 16),
        )
        .unwrap();
        assert_eq!(
            sm4_cbc_mac(&key, &iv, &data).to_vec(),
            cbc[cbc.len() - 16..].to_vec(),
            "SM4 MAC round {round}"
        );

        // Two-key 3DES (EDE) block by block.
        let mut ours = data.clone();
        for block in ours.chunks_mut(8) {
            key.encrypt_block(Algorithm::Tdes, block);
        }
        let theirs = openssl(&["enc", "-des-ede", "-K", &key_hex, "-nopad"], &data).unwrap();
        assert_eq!(ours, theirs, "3DES round {round}");

        // Retail MAC: single-DES CBC under K1 (OpenSSL's legacy provider), then D_K2, E_K1.
        let iv8 = [round; 8];
        let k1 = hex::encode(&key_bytes[..8]);
        let k2 = hex::encode(&key_bytes[8..]);
        let legacy = ["-provider", "legacy", "-provider", "default"];
        let mut args = vec!["enc", "-des-cbc", "-K", &k1, "-iv"];
        let iv_hex = hex::encode(iv8);
        args.push(&iv_hex);
        args.push("-nopad");
        args.extend_from_slice(&legacy);
        let Some(cbc) = openssl(&args, &pad_method2(&data, 8)) else {
            return;
        };
        let last = cbc[cbc.len() - 8..].to_vec();
        let mut dec_args = vec!["enc", "-d", "-des-ecb", "-K", &k2, "-nopad"];
        dec_args.extend_from_slice(&legacy);
        let d = openssl(&dec_args, &last).unwrap();
        let mut enc_args = vec!["enc", "-des-ecb", "-K", &k1, "-nopad"];
        enc_args.extend_from_slice(&legacy);
        let e = openssl(&enc_args, &d).unwrap();
        assert_eq!(
            retail_mac(&key, &iv8, &data).to_vec(),
            e,
            "retail MAC round {round}"
        );
    }
}
