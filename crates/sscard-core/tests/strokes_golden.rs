//! Golden order of common surnames (姓氏笔画排序): strokes of the surname's first character,
//! then stroke by stroke (横 竖 撇 点 折), then the following surname characters (compound
//! surnames are one surname), then the given name. Each group below was checked by hand against
//! the mainland stroke order of the characters.

use sscard_core::strokes::{Stroke, compare_names, first_stroke, total_strokes};

const GOLDEN: &[&str] = &[
    // 2 strokes: 丁 横 < 刁 折
    "丁伟",
    "刁敏",
    // 3: 于 横横 < 万 横折 < 上(官) 竖 < 马 折
    "于洋",
    "万里",
    "上官婉",
    "马超",
    // 4: 王 横 < 毛 撇 < 方 点 < 尹 折横 < 孔 折竖 < 邓 折点; 王芳 < 王磊 by the given name (7 < 15)
    "王芳",
    "王磊",
    "毛宁",
    "方圆",
    "尹红",
    "孔亮",
    "邓华",
    // 5: 左 横撇横 < 石 横撇竖 < 卢 竖横 < 叶 竖折横横 < 田 竖折横竖 < 史 竖折横撇 < 白 撇竖 <
    //    包 撇折 < 冯 点 < 司 折; every 司 before 司马
    "左丽",
    "石勇",
    "卢军",
    "叶青",
    "田甜",
    "史明",
    "白雪",
    "包拯",
    "冯刚",
    "司琴",
    "司马光",
    // 6: 朱 撇 < 刘 点横 < 江 点点横横 < 汤 点点横折 < 许 点折 < 孙 折
    "朱丹",
    "刘洋",
    "江涛",
    "汤杰",
    "许诺",
    "孙悟",
    // 7: 杜 李 杨 (横竖撇点 横/折竖/折撇) < 吴 竖 < 何 撇竖 < 余 撇点 < 邹 撇折 <
    //    汪 沈 宋 (点点横横 / 点点横点 / 点点折) < 张 折横 < 陆 折竖横横 < 陈 折竖横折 < 邵 折撇
    "杜鹃",
    "李娜",
    "杨帆",
    "吴昊",
    "何平",
    "余欢",
    "邹凯",
    "汪峰",
    "沈腾",
    "宋佳",
    "张伟",
    "陆毅",
    "陈晨",
    "邵兵",
    // 8: 林 横竖 < 欧 横撇 (欧 before 欧阳) < 罗 竖 < 金 撇点 < 周 撇折 < 郑 点 < 孟 折
    "林峰",
    "欧琳",
    "欧阳娜娜",
    "罗静",
    "金星",
    "周杰",
    "郑爽",
    "孟非",
    // 9: 赵 横竖横 < 胡 横竖竖 < 侯 撇 < 施 点横 < 姜 点撇 < 祝 点折
    "赵丽",
    "胡歌",
    "侯勇",
    "施展",
    "姜文",
    "祝福",
    // 10: 秦 横横 < 袁 横竖 < 夏 横撇竖 < 顾 横撇折 < 钱 撇横 < 徐 撇撇 < 高 郭 (点横竖折横竖/横折) <
    //     唐 点横撇 < 诸(葛) 点折
    "秦岚",
    "袁泉",
    "夏雨",
    "顾城",
    "钱锋",
    "徐静",
    "高圆",
    "郭靖",
    "唐嫣",
    "诸葛亮",
    // 11: 黄 横竖竖 < 曹 横竖折 < 龚 横撇 < 梁 点
    "黄磊",
    "曹操",
    "龚俊",
    "梁朝",
    // 12: 彭 横竖横 < 董 横竖竖撇 < 蒋 横竖竖点 < 韩 横竖竖折 < 程 撇横 < 傅 撇竖 < 谢 点
    "彭于",
    "董洁",
    "蒋欣",
    "韩雪",
    "程潇",
    "傅艺",
    "谢娜",
    // 14, 15, 16, then 17: 戴 横 < 魏 撇
    "蔡琳",
    "潘玮",
    "薛之",
    "戴军",
    "魏晨",
    // Names without stroke data (Latin letters) come last.
    "John SMITH",
];

#[test]
fn golden_surname_order() {
    let distinct_surnames: std::collections::BTreeSet<&str> = GOLDEN
        .iter()
        .map(|n| sscard_core::strokes::split_surname(n).0)
        .collect();
    assert!(
        distinct_surnames.len() >= 40,
        "{} surnames",
        distinct_surnames.len()
    );
    // Sorting any permutation gives back the golden order.
    let mut shuffled: Vec<&str> = GOLDEN.to_vec();
    shuffled.reverse();
    shuffled.rotate_left(17);
    shuffled.sort_by(|a, b| compare_names(a, b));
    let mismatches: Vec<String> = shuffled
        .iter()
        .zip(GOLDEN)
        .enumerate()
        .filter(|(_, (got, want))| got != want)
        .map(|(i, (got, want))| format!("#{i}: got {got}, want {want}"))
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn strokes_of_sample_characters() {
    assert_eq!(total_strokes('丁'), Some(2));
    assert_eq!(total_strokes('魏'), Some(17));
    assert_eq!(first_stroke('邓'), Some(Stroke::Zhe));
    assert_eq!(first_stroke('方'), Some(Stroke::Dian));
    assert_eq!(first_stroke('毛'), Some(Stroke::Pie));
    assert_eq!(first_stroke('上'), Some(Stroke::Shu));
}
