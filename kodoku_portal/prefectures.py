"""The 47 prefectures in JIS X 0401 order (codes 01–47, as ISO 3166-2:JP)."""

from django.utils.translation import gettext_lazy as _

# (JIS code, Japanese name, English name); the Japanese names are the official ones.
PREFECTURES: tuple[tuple[str, str, str], ...] = (
    ("01", "北海道", "Hokkaido"),
    ("02", "青森県", "Aomori"),
    ("03", "岩手県", "Iwate"),
    ("04", "宮城県", "Miyagi"),
    ("05", "秋田県", "Akita"),
    ("06", "山形県", "Yamagata"),
    ("07", "福島県", "Fukushima"),
    ("08", "茨城県", "Ibaraki"),
    ("09", "栃木県", "Tochigi"),
    ("10", "群馬県", "Gunma"),
    ("11", "埼玉県", "Saitama"),
    ("12", "千葉県", "Chiba"),
    ("13", "東京都", "Tokyo"),
    ("14", "神奈川県", "Kanagawa"),
    ("15", "新潟県", "Niigata"),
    ("16", "富山県", "Toyama"),
    ("17", "石川県", "Ishikawa"),
    ("18", "福井県", "Fukui"),
    ("19", "山梨県", "Yamanashi"),
    ("20", "長野県", "Nagano"),
    ("21", "岐阜県", "Gifu"),
    ("22", "静岡県", "Shizuoka"),
    ("23", "愛知県", "Aichi"),
    ("24", "三重県", "Mie"),
    ("25", "滋賀県", "Shiga"),
    ("26", "京都府", "Kyoto"),
    ("27", "大阪府", "Osaka"),
    ("28", "兵庫県", "Hyogo"),
    ("29", "奈良県", "Nara"),
    ("30", "和歌山県", "Wakayama"),
    ("31", "鳥取県", "Tottori"),
    ("32", "島根県", "Shimane"),
    ("33", "岡山県", "Okayama"),
    ("34", "広島県", "Hiroshima"),
    ("35", "山口県", "Yamaguchi"),
    ("36", "徳島県", "Tokushima"),
    ("37", "香川県", "Kagawa"),
    ("38", "愛媛県", "Ehime"),
    ("39", "高知県", "Kochi"),
    ("40", "福岡県", "Fukuoka"),
    ("41", "佐賀県", "Saga"),
    ("42", "長崎県", "Nagasaki"),
    ("43", "熊本県", "Kumamoto"),
    ("44", "大分県", "Oita"),
    ("45", "宮崎県", "Miyazaki"),
    ("46", "鹿児島県", "Kagoshima"),
    ("47", "沖縄県", "Okinawa"),
)

_BY_CODE = {code: (ja, en) for code, ja, en in PREFECTURES}
_BY_NAME = {ja: code for code, ja, _en in PREFECTURES}

# Choices for a CharField(max_length=2); the label is the Japanese name (it is a proper noun,
# shown as such on Japanese official pages; English pages use ``prefecture_name``).
PREFECTURE_CHOICES = [(code, ja) for code, ja, _en in PREFECTURES]

NATIONWIDE_LABEL = _("Nationwide")


def prefecture_name(code: str, language: str = "ja") -> str:
    """The prefecture's name for a JIS code; Japanese unless ``language`` is English."""
    ja, en = _BY_CODE[code]
    return en if language.startswith("en") else ja


def prefecture_code(name: str) -> str:
    """The JIS code for a Japanese prefecture name (北海道, 東京都, …)."""
    return _BY_NAME[name]


def is_prefecture_code(code: str) -> bool:
    return code in _BY_CODE


# 地方区分: the eight customary regions, by JIS code range.
_REGIONS = (
    (1, 1, "北海道"),
    (2, 7, "東北"),
    (8, 14, "関東"),
    (15, 23, "中部"),
    (24, 30, "近畿"),
    (31, 35, "中国"),
    (36, 39, "四国"),
    (40, 47, "九州・沖縄"),
)


def region_of(code: str) -> str:
    """The region (地方) of a prefecture: 北海道, 東北, 関東, 中部, 近畿, 中国, 四国 or 九州・沖縄."""
    number = int(code)
    return next(name for low, high, name in _REGIONS if low <= number <= high)
