//! (key, Japanese, English): the words of the charts.

pub const WORDS: &[(&str, &str, &str)] = &[
    (
        "chart.summary",
        "合計 {total} 件、最多は {at} の {max} 件。",
        "{total} in all; the most, {max}, at {at}.",
    ),
    ("chart.table", "数値で見る", "Show the numbers"),
    (
        "chart.cut",
        "ほかより突出して多い棒は目盛りの上端で切り、件数を上に記しています。",
        "A bar far above the others is cut at the top of the scale, its count written above it.",
    ),
    ("chart.hour", "時刻", "Hour"),
    ("chart.count", "件数", "Count"),
];
