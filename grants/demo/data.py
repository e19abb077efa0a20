"""The seed document's programmes, calls and adoption list, as data.

Source: docs/seed/000_1df8d554d3060946.txt (内閣府 孤独・孤立対策推進室, 令和7年4月30日). Texts are
copied from it; line breaks that the PDF extraction put inside words are removed. English texts
are our translations for the English pages.
"""

# (code, Japanese, English, has a 法人番号, non-profit)
APPLICANT_TYPES = [
    ("npo", "特定非営利活動法人（NPO法人）", "Specified non-profit corporation (NPO)", True, True),
    ("social-welfare", "社会福祉法人", "Social welfare corporation", True, True),
    ("general-association", "一般社団法人", "General incorporated association", True, True),
    ("general-foundation", "一般財団法人", "General incorporated foundation", True, True),
    ("public-interest-association", "公益社団法人", "Public interest incorporated association", True, True),
    ("public-interest-foundation", "公益財団法人", "Public interest incorporated foundation", True, True),
    ("other-non-profit", "その他の非営利法人", "Other non-profit corporation", True, True),
    ("voluntary", "任意団体", "Unincorporated association", False, True),
    ("local-government", "地方公共団体", "Local government", True, True),
    ("for-profit", "株式会社等（営利法人）", "Company (for profit)", True, False),
]

NON_PROFIT_CORPORATIONS = [
    "npo",
    "social-welfare",
    "general-association",
    "general-foundation",
    "public-interest-association",
    "public-interest-foundation",
    "other-non-profit",
]

PROGRAMMES = {
    "npo-model": {
        "name": "地域における孤独・孤立対策に関するNPO等の取組モデル調査",
        "name_en": "Model survey of NPO initiatives against loneliness and isolation in local communities",
        "purpose": (
            "誰にでも起こり得る孤独・孤立の問題に対しては、地域の多様な主体の連携を通じた日常生活環境での"
            "緩やかなつながりや居場所の確保が、予防や早期対応の観点から重要です。\n"
            "このような取組の拡大を図るためには、関係行政機関（特に地方公共団体）のみならず、NPO等の現場レベル"
            "での活動が必要不可欠ですが、具体的な取組のイメージやノウハウの蓄積が不十分です。\n"
            "このため、日常生活環境における孤独・孤立の予防や早期対応に資する取組への支援を行うとともに、"
            "その成果等を踏まえたNPO等の取組モデルを構築し、全国展開を図ります。"
        ),
        "expected_effects": (
            "孤独・孤立の問題やそれから生じ得る更なる問題に至らないようにする予防を目指した取組が強化され、"
            "地域における官・民・NPO等の連携による推進体制の整備と相まって、地域の実情に応じた孤独・孤立対策が"
            "実施されます。"
        ),
    },
    "kofukin": {
        "name": "社会参加活躍支援等孤独・孤立対策推進交付金",
        "name_en": "Grant for promoting countermeasures against loneliness and isolation (social participation)",
        "purpose": (
            "令和6年4月に孤独・孤立対策推進法（令和5年法律第45号）が施行され、「経済財政運営と改革の基本方針"
            "2024」（同年6月21日閣議決定）において、「孤独・孤立対策推進法に基づく重点計画に沿って、交付金等も"
            "活用しつつ、自治体とNPO等との連携推進のための地方版官民連携プラットフォームや地域協議会を立ち上げる"
            "段階の自治体への伴走支援（中略）などの取組を着実に推進する」とされています。\n"
            "このため、孤独・孤立対策の安定的・継続的な推進に向けて、地方における官・民・NPO等の連携等による"
            "孤独・孤立対策の推進を支援します。"
        ),
        "expected_effects": (
            "地方公共団体が主体となって連携・協働体制を構築するなどにより、全国各地で孤独・孤立対策が展開されます。\n"
            "個々のNPO等の運営能力や活動基盤の底上げにより、安定的・継続的な孤独・孤立対策につながります。"
        ),
    },
}

# The fictional demo applications' answers to the project questions (calls/standard_form.py).
PROJECT_ANSWERS = {
    "target_people": "地域の住民",
    "structure": "理事3名、ボランティア10名",
    "partners": "社会福祉協議会",
    "expected_results": "参加者 延べ1,000人",
    "schedule": "7月開始、2月報告",
}

NPO_MODEL_SUMMARY = (
    "NPO法人や社会福祉法人等の非営利団体を対象として、日常生活環境での緩やかなつながりや居場所づくりに関する"
    "先駆的な取組への支援を行い(上限200万円)、そのプロセスや成果を取りまとめ、全国展開を図ります。"
)
NPO_MODEL_SUMMARY_EN = (
    "Support for pioneering initiatives by non-profit organisations such as NPOs and social welfare "
    "corporations that create loose everyday connections and places to belong (up to ¥2,000,000). "
    "The processes and results are compiled into models and rolled out nationwide."
)

# The call's public page (issue 12, items 6 and 10), from the seed only: 「3 公募URL(※株式会社NTTデータ
# 経営研究所のWebサイトです。)」 and 「お問い合わせは、公募要領に記載の問い合わせ先に直接ご連絡ください。」
# The seed gives no telephone, e-mail or hours: those stay empty and the page leaves them out.
NPO_MODEL_OFFICIAL_URL = "https://www.nttdata-strategy.com/newsrelease/news/kodoku_koritsu_koubo/"
NPO_MODEL_OFFICIAL_URL_NOTE = "株式会社NTTデータ経営研究所のWebサイトです。"
NPO_MODEL_CONTACT_NOTE = "お問い合わせは、公募要領に記載の問い合わせ先に直接ご連絡ください。"

# よくある質問 of r7-npo-model: each answer is a sentence of the seed.
NPO_MODEL_QUESTIONS = [
    ("どのような団体が応募できますか。", "NPO法人や社会福祉法人等の非営利団体です。"),
    ("1件あたりの上限額はいくらですか。", "上限200万円です。"),
    ("公募期間はいつまでですか。", "令和7年4月21日～5月30日正午です。"),
    (
        "どのような取組が対象ですか。",
        "日常生活環境での緩やかなつながりや居場所づくりに関する先駆的な取組です。"
        "テーマ①～④とその取組イメージは、このページに掲載しています。",
    ),
    (
        "採択された取組の成果はどうなりますか。",
        "そのプロセスや成果を取りまとめ、NPO等の取組モデルを構築し、全国展開を図ります。",
    ),
    ("問い合わせはどこにすればよいですか。", "公募要領に記載の問い合わせ先に直接ご連絡ください。"),
]

# The past round r6-ninaite was decided before the portal: its organisations were told outside it,
# and the seed publishes the list. The note kept with that record (no date: the seed gives none).
NINAITE_NOTICES_NOTE = (
    "ポータル導入前に決定された交付団体であり、交付団体への通知はポータル外で行われました。"
    "交付団体の一覧は内閣府孤独・孤立対策推進室の公表資料「交付団体と取組概要」から取り込みました。"
)

# テーマ ①–④ and their 取組イメージ, exactly as in the seed.
NPO_MODEL_THEMES = [
    (
        1,
        "誰もが気軽に参加できる地域のゆるやかなつながりの場づくり",
        "Places of loose local connection that anyone can join easily",
        [
            "スポーツや文化・芸術を通じたこども・若者、高齢者など多世代間の交流",
            "シニア世代による子どもへの伝統行事等の伝承を通じた交流",
        ],
    ),
    (
        2,
        "自然に足が向く地域の居場所の提供",
        "Local places to belong that people are naturally drawn to",
        [
            "大工仕事などを通じた中年・シニア世代の交流の場（日本版メンズ・シェッド）",
            "コミュニティカフェ、ものづくり、講習会などを複合的に実施する居場所",
            "図書館や美術館、公園などの機能を活かした居場所",
        ],
    ),
    (
        3,
        "多様な主体の水平的連携を通じた地域課題の解決",
        "Solving local issues through horizontal partnerships of diverse actors",
        [
            "新聞・郵便配達、宅配、コンビニ、理美容など地域インフラとの協働による地域の包括的見守り体制の構築",
            "食品や生活用品などの支援物資に関する地域内のマッチングの仕組みの構築",
        ],
    ),
    (
        4,
        "地域活動を通じた社会貢献",
        "Contributing to society through local activities",
        [
            "シニア世代の知見やノウハウを活かしたまちづくりや中小企業支援",
            "環境保全や農作業、防災ボランティアなど参加を通じた地域貢献",
        ],
    ),
]

KOFUKIN_SUMMARY = (
    "孤独・孤立対策の安定的・継続的な推進に向けて、地方公共団体が実施する多様な主体による水平的な連携・協働体制の"
    "構築と地域の実情に応じた孤独・孤立対策に関する各種取組への支援を行うことにより、地方における孤独・孤立対策を"
    "推進します。\n"
    "孤独・孤立対策に取り組むNPO等の運営能力の向上や活動基盤の整備に取り組む中間支援組織を支援します。"
)

# （地方公共団体の基盤整備支援のメニュー）
KOFUKIN_MENU = [
    "地方版官民連携プラットフォームの構築",
    "関連事業の取組方針の作成",
    "実態把握や地域資源の調査",
    "関係者間の活動等に係る情報共有や相互啓発活動",
    "住民への情報発信や普及啓発活動",
    "人材確保・育成のための研修",
    "地域協議会の設置",
    "相談体制の整備や居場所の設置など当事者等への支援",
    "相談体制の整備や居場所の設置などの活動を行う団体への補助 等",
]

# The practice 交付金 call's application form, as data (calls.FormVersion): the menu items chosen,
# then for each chosen item its planned activity, partners, total cost and the amount requested
# (at most the call's subsidy rate of the total cost). The sections: (key, title, title_en).
KOFUKIN_FORM_SECTIONS = [
    ("menu", "実施するメニュー", "Menu items"),
    ("plan", "メニューごとの計画", "Plan for each menu item"),
]


def kofukin_form_fields() -> list[dict]:
    """The fields of the 交付金 form: section key and FormField values, in form order."""
    choices = "\n".join(f"m{number}|{item}|" for number, item in enumerate(KOFUKIN_MENU, start=1))
    fields = [
        {
            "section": "menu",
            "key": "menu",
            "kind": "multi_choice",
            "required": True,
            "label": "実施するメニュー",
            "label_en": "Menu items you will carry out",
            "help_text": "地方公共団体の基盤整備支援のメニューから、実施するものをすべて選んでください。",
            "choices": choices,
        }
    ]
    for number, item in enumerate(KOFUKIN_MENU, start=1):
        shown = {"condition_field": "menu", "condition_operator": "includes", "condition_value": f"m{number}"}
        fields += [
            {
                "section": "plan",
                "key": f"m{number}_activity",
                "kind": "long_text",
                "required": True,
                "max_length": 2000,
                "label": f"【{item}】実施内容",
                "label_en": f"[Menu item {number}] Planned activity",
                **shown,
            },
            {
                "section": "plan",
                "key": f"m{number}_partners",
                "kind": "long_text",
                "max_length": 1000,
                "label": f"【{item}】連携先（NPO等その他）",
                "label_en": f"[Menu item {number}] Partners (NPOs and others)",
                "help_text": "連携する NPO 等の団体名、その他の連携先と役割を書いてください。",
                **shown,
            },
            {
                "section": "plan",
                "key": f"m{number}_total",
                "kind": "yen",
                "required": True,
                "label": f"【{item}】総事業費（円）",
                "label_en": f"[Menu item {number}] Total cost (yen)",
                **shown,
            },
            {
                "section": "plan",
                "key": f"m{number}_requested",
                "kind": "yen",
                "required": True,
                "label": f"【{item}】交付申請額（円）",
                "label_en": f"[Menu item {number}] Amount requested (yen)",
                "help_text": "総事業費に補助率を乗じた額以内（1円未満切捨て）。",
                "share_of": f"m{number}_total",
                **shown,
            },
        ]
    return fields


# A fictional local government for the demo: 団体コード 139998 (prefecture 13, check digit 8) is not
# a municipality's code.
DEMO_LOCAL_GOVERNMENT = {
    "name": "デモ市（架空の自治体）",
    "name_kana": "デモシ",
    "type": "local-government",
    "local_government_code": "139998",
    "department": "福祉部地域福祉課（デモ用）",
    "postal_code": "100-0014",
    "address": "東京都千代田区永田町一丁目（デモ用の架空の所在地）",
    "contact_name": "自治体 五郎",
    "phone": "03-1234-5679",
    "email": "city@example.jp",
}

NINAITE_SUMMARY = (
    "孤独・孤立対策推進法に基づく「孤独・孤立対策に関する施策の推進を図るための重点計画」（令和6年6月11日"
    "孤独・孤立対策推進本部決定）に基づき、地域の実情に応じた孤独・孤立対策を推進。\n"
    "孤独・孤立の問題の予防の観点から、日常の様々な分野における緩やかなつながりづくりに取り組むNPO等への"
    "伴走型支援を行う中間支援組織を支援することで、個々のNPO等の経営力や事業力を高め、孤独・孤立対策の"
    "気運醸成と安定的・継続的な推進体制を構築。"
)

# 交付団体と取組概要: the nine adopted intermediary organisations, in the seed's order.
# area: JIS prefecture codes in the seed's order; nationwide for 全国; area_description where the
# seed's wording is not a list of prefectures.
NINAITE_ADOPTED = [
    {
        "organisation": "特定非営利活動法人 イシュープラスデザイン",
        "type": "npo",
        "prefecture": "13",
        "title": "北海道における、ゆるやかにつながってしまう場づくりと各種団体の運営能力向上のための伴走型支援",
        "summary": (
            "積雪寒冷地域における孤独・孤立の実態を調査し、回避プロセスを可視化する。また、地域の各種団体が運営能力を"
            "向上させるためのノウハウ化及びデザイン支援を行い、十勝管内、北海道内におけるノウハウ移転先の公募及び導入に"
            "向けた伴走型支援を実施する。"
        ),
        "area": ["01"],
        "nationwide": False,
        "area_description": "",
        "area_as_printed": "北海道",
    },
    {
        "organisation": "一般社団法人 えんがお",
        "type": "general-association",
        "prefecture": "09",
        "title": "孤独・孤立対策に特化した創業・伴走支援とノウハウ共有のためのネットワークづくり",
        "summary": (
            "孤独・孤立対策に取り組む活動に対して創業支援・伴走支援を行うとともに、比較的軌道に乗っている活動の要因を"
            "分析し、活動がより継続的かつ波及的なものになるよう支援する。\n"
            "オンラインによるネットワークを利用し、全国の孤独・孤立対策に取り組む団体に対して、ケーススタディや"
            "情報交換の機会を提供することにより、それぞれの活動を促進する。"
        ),
        "area": [],
        "nationwide": True,
        "area_description": "",
        "area_as_printed": "全国",
    },
    {
        "organisation": "公益社団法人 かながわ福祉サービス振興会",
        "type": "public-interest-association",
        "prefecture": "14",
        "title": "地域共生社会を推進するための孤独・孤立対策担い手育成支援事業",
        "summary": (
            "既存のプラットフォームを利用した孤独・孤立対策に取り組むNPO等の発掘、神奈川県及び他県における"
            "ネットワーク構築のための検討委員会の実施、NPO等に対するオンラインも活用した伴走型支援等に取り組む。"
        ),
        "area": ["14"],
        "nationwide": False,
        "area_description": "神奈川県を中心とした複数県",
        "area_as_printed": "神奈川県を中心とした複数県",
    },
    {
        "organisation": "一般社団法人 気仙沼まちづくり支援センター",
        "type": "general-association",
        "prefecture": "04",
        "title": "気仙地域孤独・孤立対策活動団体基盤強化とネットワーク化事業",
        "summary": (
            "気仙地区(岩手県大船渡市・陸前高田市・宮城県気仙沼市)において、「気仙地域孤独・孤立対策ネットワーク会議」を"
            "定期開催するとともに、「高齢者」・「ひとり親世帯」・「障がい者」の居場所づくりを行うNPO等や、各市域で"
            "活動するNPO等を対象とした研修会等を実施し、活動基盤の強化と市域・分野を超えたネットワーク化を推進する。"
        ),
        "area": ["04", "03"],
        "nationwide": False,
        "area_description": "",
        "area_as_printed": "宮城県 岩手県",
    },
    {
        "organisation": "特定非営利活動法人 サービスグラント",
        "type": "npo",
        "prefecture": "13",
        "title": "NPOメンタリングプログラム",
        "summary": (
            "孤独・孤立対策に取り組むNPO等を募り、プロボノワーカーがメンターとなって代表者やスタッフに対して業務での"
            "困りごとや悩みを聴きながら課題を整理し、安定的・継続的な活動を支援するプロボノプログラムを実施する。"
        ),
        "area": [],
        "nationwide": True,
        "area_description": "",
        "area_as_printed": "全国",
    },
    {
        "organisation": "NPO法人 市民ネットすいた",
        "type": "npo",
        "prefecture": "27",
        "title": "生活圏域における小規模NPO基盤強化支援を通じた緩やかな「つながり」づくり担い手育成事業",
        "summary": (
            "大阪府と兵庫県をまたぐ生活圏域「北摂エリア」において中間支援組織が連携し、地域社会の緩やかな「つながり」"
            "づくりの担い手である小規模NPOが持続発展的に活動できる環境を整備する。"
        ),
        "area": ["27", "28"],
        "nationwide": False,
        "area_description": "",
        "area_as_printed": "大阪府 兵庫県",
    },
    {
        "organisation": "特定非営利活動法人 全国子ども食堂支援センター・むすびえ",
        "type": "npo",
        "prefecture": "13",
        "title": "孤独・孤立対策に有効なアートWSを地域で自走できるツールの開発・実証・普及に関する事業",
        "summary": (
            "孤独・孤立の予防のための「アート×地域の居場所」が身近な圏域でより多く営まれるように、地域の民間団体が"
            "協働してアートWSを企画運営できるようになる自走モデルの開発・実証・普及に、孤独・孤立予防の実践経験のある"
            "有識者、団体等と連携して取り組む。"
        ),
        "area": [],
        "nationwide": True,
        "area_description": "",
        "area_as_printed": "全国",
    },
    {
        "organisation": "公益財団法人 ひょうごコミュニティ財団",
        "type": "public-interest-foundation",
        "prefecture": "28",
        "title": "孤独・孤立対策のための中間支援3.0『ひょうごモデル』推進事業",
        "summary": (
            "「人」、「参加」を共通テーマとした事業及び研究会を通じて、孤独・孤立対策を担う小規模NPOへの支援を強化拡充し、"
            "同時にそれを支える中間支援の活動をバージョンアップさせる。\n"
            "兵庫+全国の中間支援組織の経験を結集して、小規模NPOへの支援手法の開発・定着・普及を図り、その成果を全国にも"
            "普及させ、中間支援活動全体のバージョンアップを図る。"
        ),
        "area": ["28", "08", "21"],
        "nationwide": True,
        "area_description": "",
        "area_as_printed": "兵庫県 茨城県 岐阜県 全国",
        "note": "コンソーシアムの代表団体",
    },
    {
        "organisation": "特定非営利活動法人 フローレンス",
        "type": "npo",
        "prefecture": "13",
        "title": "県域連携と官民連携による、子育て家庭へのアウトリーチ型支援「子ども宅食」担い手育成プロジェクト",
        "summary": (
            "虐待や困窮などの困難を抱える子どもたちの支援を行う県の中核団体を伴走支援し、共同で「子ども宅食」を県内に"
            "広めることにより、地域の連携・協働を促進する。地域の子ども宅食団体が行政の協力を得られるよう連携強化"
            "プログラムを実施し、事業力・経営力の向上を図る。"
        ),
        "area": [],
        "nationwide": True,
        "area_description": "",
        "area_as_printed": "全国",
    },
]

DEMO_PASSWORD = "kodoku-demo-2025"

# (e-mail, name, role)
DEMO_USERS = [
    ("applicant@example.jp", "申請 花子", "applicant"),
    ("colleague@example.jp", "同僚 太郎", "applicant"),
    ("reviewer@example.jp", "審査 一郎", "reviewer"),
    ("reviewer2@example.jp", "審査 二郎", "reviewer"),
    ("reviewer3@example.jp", "審査 三子", "reviewer"),
    ("staff@example.jp", "事務局 三郎", "staff"),
    ("admin@example.jp", "管理 四郎", "administrator"),
    ("city@example.jp", "自治体 五郎", "applicant"),
]

DEMO_ORGANISATION = {
    "name": "特定非営利活動法人 つながりデモの会",
    "name_kana": "トクテイヒエイリカツドウホウジン ツナガリデモノカイ",
    "type": "npo",
    "prefecture": "13",
    # Not a real organisation: a base number chosen for the demo, with its computed check digit.
    "corporate_base_number": "123456789012",
    "postal_code": "100-0014",
    "address": "東京都千代田区永田町一丁目（デモ用の架空の所在地）",
    "representative_title": "理事長",
    "representative_name": "申請 花子",
    "contact_name": "申請 花子",
    "phone": "03-1234-5678",
    "email": "applicant@example.jp",
    "staff_count": 5,
    "volunteer_count": 20,
    "annual_budget": 8_500_000,
}


# Fictional organisations that applied to the practice call, so the review pages show something.
# (name, kana, prefecture, theme number, project name, summary, area, budget lines)
PRACTICE_APPLICANTS = [
    (
        "特定非営利活動法人 まちの縁側ネット",
        "マチノエンガワネット",
        "13",
        1,
        "多世代が集う縁側カフェ",
        "商店街の空き店舗で、こどもから高齢者までが気軽に立ち寄れるカフェを週3回開く。",
        ["13"],
        1_200_000,
    ),
    (
        "一般社団法人 メンズシェッド北",
        "メンズシェッドキタ",
        "01",
        2,
        "日本版メンズ・シェッドの立ち上げ",
        "大工仕事を通じて中高年男性が集う場所を町内会館につくり、地域の修繕を請け負う。",
        ["01"],
        1_800_000,
    ),
    (
        "社会福祉法人 みどり会",
        "ミドリカイ",
        "27",
        3,
        "配達員と見守るまちづくり",
        "新聞・郵便配達や宅配事業者と協定を結び、気になる世帯を地域包括支援センターへつなぐ。",
        ["27", "28"],
        2_000_000,
    ),
    (
        "特定非営利活動法人 シニアの知恵袋",
        "シニアノチエブクロ",
        "40",
        4,
        "シニアの知見で商店街再生",
        "退職した技術者が中小企業の相談に乗り、参加者自身の居場所と役割をつくる。",
        ["40"],
        900_000,
    ),
    (
        "特定非営利活動法人 図書館で会いましょう",
        "トショカンデアイマショウ",
        "23",
        2,
        "図書館を居場所に",
        "公共図書館と連携し、夕方の時間帯に若者が過ごせる居場所と相談窓口を開く。",
        ["23"],
        1_500_000,
    ),
    (
        "一般社団法人 食のわかちあい",
        "ショクノワカチアイ",
        "04",
        3,
        "支援物資の地域マッチング",
        "食品や生活用品の寄付と必要とする世帯を、地域内で結ぶ仕組みをつくる。",
        ["04", "03"],
        1_650_000,
    ),
]
