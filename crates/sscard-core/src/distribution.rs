//! Sorted distribution (分拣): finished cards ordered the way a pickup point hands them out —
//! by workshop, then department, then surname in stroke order, then given name — and cut into
//! boxes of a fixed capacity, each card with its box and slot, each box with a label naming the
//! range inside it.

use std::cmp::Ordering;

use serde::Serialize;

use crate::strokes::{compare_names, compare_text, split_surname};

/// One card to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<T> {
    /// Workshop (empty: none; sorted after every named one).
    pub workshop: String,
    /// Department (empty: none).
    pub department: String,
    /// Holder's full name.
    pub name: String,
    /// What the caller attaches (card number, …).
    pub item: T,
}

/// Where a card goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Place {
    /// Box number, from 1.
    pub r#box: u32,
    /// Slot in the box, from 1.
    pub slot: u32,
}

/// The label of one box: how many cards and the range inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoxLabel {
    /// Box number, from 1.
    pub number: u32,
    /// Cards in it.
    pub cards: usize,
    /// Workshop, department and surname of the first card.
    pub first: (String, String, String),
    /// Workshop, department and surname of the last card.
    pub last: (String, String, String),
}

impl BoxLabel {
    /// The label's text, e.g. `第 3 箱 · 总装车间 一班 王—总装车间 二班 李 · 200 张`.
    pub fn text(&self) -> String {
        let part = |(w, d, s): &(String, String, String)| {
            [w.as_str(), d.as_str(), s.as_str()]
                .iter()
                .filter(|x| !x.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!(
            "第 {} 箱 · {}—{} · {} 张",
            self.number,
            part(&self.first),
            part(&self.last),
            self.cards
        )
    }
}

/// Orders text with empty values last.
fn blank_last(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => compare_text(a, b),
    }
}

/// The pickup order: workshop → department → surname stroke order → given name.
pub fn compare<T>(a: &Entry<T>, b: &Entry<T>) -> Ordering {
    blank_last(&a.workshop, &b.workshop)
        .then_with(|| blank_last(&a.department, &b.department))
        .then_with(|| compare_names(&a.name, &b.name))
}

/// Sorts `entries` into pickup order and cuts them into boxes of `box_size` (at least 1).
pub fn plan<T>(
    mut entries: Vec<Entry<T>>,
    box_size: usize,
) -> (Vec<(Entry<T>, Place)>, Vec<BoxLabel>) {
    let box_size = box_size.max(1);
    entries.sort_by(compare);
    let mut labels: Vec<BoxLabel> = Vec::new();
    let mut placed = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let place = Place {
            r#box: (i / box_size) as u32 + 1,
            slot: (i % box_size) as u32 + 1,
        };
        let key = (
            e.workshop.clone(),
            e.department.clone(),
            split_surname(&e.name).0.to_owned(),
        );
        if place.slot == 1 {
            labels.push(BoxLabel {
                number: place.r#box,
                cards: 0,
                first: key.clone(),
                last: key.clone(),
            });
        }
        let label = labels.last_mut().expect("a box was opened");
        label.cards += 1;
        label.last = key;
        placed.push((e, place));
    }
    (placed, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(workshop: &str, department: &str, name: &str) -> Entry<()> {
        Entry {
            workshop: workshop.into(),
            department: department.into(),
            name: name.into(),
            item: (),
        }
    }

    #[test]
    fn golden_order_across_workshops_departments_and_surnames() {
        let input = vec![
            e("总装车间", "二班", "王芳"),
            e("SMT一车间", "一班", "李娜"),
            e("总装车间", "一班", "欧阳明"),
            e("总装车间", "一班", "欧琳"),
            e("总装车间", "一班", "王五"),
            e("总装车间", "一班", "丁一"),
            e("", "", "张三"),
            e("总装车间", "一班", "王一"),
            e("包装车间", "一班", "白雪"),
            e("总装车间", "一班", "方芳"),
        ];
        let (placed, _) = plan(input, 200);
        let order: Vec<String> = placed
            .iter()
            .map(|(x, _)| format!("{}/{}/{}", x.workshop, x.department, x.name))
            .collect();
        assert_eq!(
            order,
            vec![
                // 包 (5 strokes) before 总 (9); Latin-initial workshop names after Chinese ones;
                // no workshop last.
                "包装车间/一班/白雪",
                "总装车间/一班/丁一", // 丁 2 strokes
                "总装车间/一班/王一", // 王 4 strokes, 一 before 五
                "总装车间/一班/王五",
                "总装车间/一班/方芳", // 方 4 strokes, first stroke 点 after 王's 横
                "总装车间/一班/欧琳", // 欧 8 strokes; the single surname before the compound one
                "总装车间/一班/欧阳明",
                "总装车间/二班/王芳", // 一班 before 二班
                "SMT一车间/一班/李娜",
                "//张三",
            ]
        );
        assert_eq!(compare_text("一班", "二班"), Ordering::Less);
    }

    #[test]
    fn boxes_are_cut_at_capacity_with_labels() {
        let input: Vec<Entry<usize>> = (0..205)
            .map(|i| Entry {
                workshop: if i < 150 {
                    "包装车间".into()
                } else {
                    "总装车间".into()
                },
                department: "一班".into(),
                name: format!("王{}", char::from_u32(0x4E00 + i as u32).unwrap()),
                item: i,
            })
            .collect();
        let (placed, labels) = plan(input, 200);
        assert_eq!(placed.len(), 205);
        assert_eq!(
            placed[199].1,
            Place {
                r#box: 1,
                slot: 200
            }
        );
        assert_eq!(placed[200].1, Place { r#box: 2, slot: 1 });
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0].cards, 200);
        assert_eq!(labels[1].cards, 5);
        assert_eq!(labels[0].first.0, "包装车间");
        assert_eq!(labels[0].last.0, "总装车间");
        assert!(
            labels[1].text().starts_with("第 2 箱 · 总装车间 一班 王—"),
            "{}",
            labels[1].text()
        );
        // Every card exactly once.
        let mut items: Vec<usize> = placed.iter().map(|(x, _)| x.item).collect();
        items.sort_unstable();
        assert_eq!(items, (0..205).collect::<Vec<_>>());
        let (_, one) = plan(vec![e("a", "b", "王一")], 0);
        assert_eq!(one[0].cards, 1, "a box size of 0 is taken as 1");
    }
}
