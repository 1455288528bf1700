//! SQLite's write-ahead log is checkpointed beside the writer, not inside its commits: the
//! writer checkpoints only past 4,096 pages, and the checkpointer copies every committed frame
//! of a shorter log into the database within a few of its periods.

mod common;

use sscard_store::PersonInput;

/// The WAL index's figures from the `-shm` file: the last committed frame (`mxFrame`, in the
/// header at byte 16) and the frames copied into the database (`nBackfill`, the checkpoint
/// information at byte 96), in the machine's byte order as SQLite writes them.
fn wal_index(db: &std::path::Path) -> (u32, u32) {
    let shm = std::fs::read(format!("{}-shm", db.display())).expect("the -shm file");
    let word = |at: usize| u32::from_ne_bytes(shm[at..at + 4].try_into().expect("4 bytes"));
    (word(16), word(96))
}

#[tokio::test]
async fn the_log_is_copied_into_the_database_off_the_writers_path() {
    let db = common::TestDb::sqlite().await;
    let path = std::path::PathBuf::from(db.url.trim_start_matches("sqlite://"));
    let ctx = common::ctx();
    let people: Vec<PersonInput> = (0..400)
        .map(|_| {
            let (id, name) = common::new_person();
            PersonInput::new(id, name)
        })
        .collect();
    db.store.register_people(&ctx, &people).await.unwrap();
    // Nothing writes now; the checkpointer catches up within a few 100 ms periods.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (frames, copied) = loop {
        let (frames, copied) = wal_index(&path);
        if (frames > 0 && copied == frames) || std::time::Instant::now() > deadline {
            break (frames, copied);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(frames > 0, "the registrations went through the log");
    assert_eq!(
        copied, frames,
        "every committed frame is in the database: {copied} of {frames}"
    );
    db.store.close().await;
}
