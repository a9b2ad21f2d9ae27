"""Word and phrase banks: names, places, products and bilingual feedback text.

The phrase banks are split by sentiment and topic and combined at random, so a
character n-gram sentiment model has real signal to learn, not a few fixed strings.
"""

from __future__ import annotations

# Chinese surnames and given-name characters, each with its pinyin for e-mail addresses.
CN_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("罗", "luo"), ("高", "gao"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
)
CN_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"),
    ("平", "ping"), ("刚", "gang"), ("婷", "ting"), ("欣", "xin"), ("宇", "yu"), ("浩", "hao"),
    ("晨", "chen"), ("雪", "xue"), ("琳", "lin"), ("博", "bo"), ("佳", "jia"), ("怡", "yi"),
)
EN_FIRST = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Emma",
    "Oliver", "Sophie", "Harry", "Amelia", "Daniel", "Grace", "Lucas", "Chloe", "Ethan", "Olivia",
)
EN_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark",
    "Walker", "Wright", "Evans", "Thomas", "Roberts", "Hughes", "Green", "Hall", "Wood", "Turner",
)
DE_FIRST = ("Lukas", "Anna", "Leon", "Marie", "Felix", "Lena", "Jonas", "Laura", "Paul", "Julia")
DE_LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch")
SG_FIRST = ("Wei Ling", "Jun Jie", "Hui Min", "Kai", "Siti", "Arjun", "Mei", "Darren", "Rachel", "Ravi")
SG_LAST = ("Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Koh", "Nair")

# country code -> (share, English name, [(city, region)], e-mail domains)
COUNTRIES = {
    "CN": (0.70, "China", [
        ("北京", "北京市"), ("上海", "上海市"), ("广州", "广东省"), ("深圳", "广东省"), ("杭州", "浙江省"),
        ("成都", "四川省"), ("武汉", "湖北省"), ("南京", "江苏省"), ("西安", "陕西省"), ("重庆", "重庆市"),
        ("苏州", "江苏省"), ("天津", "天津市"), ("长沙", "湖南省"), ("青岛", "山东省"), ("厦门", "福建省"),
    ], ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com")),
    "US": (0.10, "United States", [
        ("San Francisco", "CA"), ("New York", "NY"), ("Seattle", "WA"), ("Austin", "TX"), ("Chicago", "IL"),
        ("Boston", "MA"), ("Los Angeles", "CA"),
    ], ("gmail.com", "yahoo.com", "outlook.com")),
    "GB": (0.07, "United Kingdom", [
        ("London", "England"), ("Manchester", "England"), ("Edinburgh", "Scotland"), ("Bristol", "England"),
        ("Cardiff", "Wales"),
    ], ("gmail.com", "outlook.com", "btinternet.com")),
    "DE": (0.06, "Germany", [
        ("Berlin", "Berlin"), ("München", "Bayern"), ("Hamburg", "Hamburg"), ("Köln", "Nordrhein-Westfalen"),
        ("Frankfurt am Main", "Hessen"),
    ], ("gmx.de", "web.de", "gmail.com")),
    "SG": (0.07, "Singapore", [
        ("Singapore", "Central Region"), ("Singapore", "East Region"), ("Singapore", "West Region"),
    ], ("gmail.com", "singnet.com.sg", "outlook.com")),
}
COUNTRY_CODES = tuple(COUNTRIES)
# Alternate spellings of the same city, used for the "moved / retyped city" updates.
CITY_RETYPES = {"北京": "北京市", "上海": "上海市", "München": "Munich", "Köln": "Cologne", "New York": "New York City"}

# Products: category -> [(english noun, chinese noun)], and brands with a price tier.
PRODUCT_NOUNS = {
    "grocery": [("Green Tea", "绿茶"), ("Jasmine Rice", "茉莉香米"), ("Soy Sauce", "酱油"), ("Instant Noodles", "方便面"),
                ("Oat Milk", "燕麦奶"), ("Mixed Nuts", "混合坚果"), ("Coffee Beans", "咖啡豆"), ("Dark Chocolate", "黑巧克力")],
    "household": [("Laundry Detergent", "洗衣液"), ("Paper Towels", "厨房纸巾"), ("Dish Soap", "洗洁精"), ("Trash Bags", "垃圾袋"),
                  ("Toilet Paper", "卫生纸"), ("Surface Cleaner", "多用途清洁剂")],
    "beauty": [("Face Cream", "面霜"), ("Sunscreen", "防晒霜"), ("Lipstick", "口红"), ("Shampoo", "洗发水"),
               ("Sheet Mask", "面膜"), ("Serum", "精华液"), ("Cleanser", "洁面乳")],
    "fashion": [("Sneakers", "运动鞋"), ("Denim Jacket", "牛仔外套"), ("T-Shirt", "T恤"), ("Dress", "连衣裙"),
                ("Handbag", "手提包"), ("Scarf", "围巾"), ("Hoodie", "卫衣")],
    "electronics": [("Wireless Earbuds", "无线耳机"), ("Smartwatch", "智能手表"), ("Power Bank", "充电宝"),
                    ("Bluetooth Speaker", "蓝牙音箱"), ("Tablet", "平板电脑"), ("Phone Case", "手机壳"), ("Keyboard", "键盘")],
    "home": [("Rice Cooker", "电饭煲"), ("Air Purifier", "空气净化器"), ("Bed Sheets", "床单"), ("Desk Lamp", "台灯"),
             ("Cookware Set", "锅具套装"), ("Pillow", "枕头")],
    "sports": [("Yoga Mat", "瑜伽垫"), ("Running Shorts", "跑步短裤"), ("Dumbbells", "哑铃"), ("Water Bottle", "运动水壶"),
               ("Badminton Racket", "羽毛球拍")],
}
# (brand, tier) per category; tier 0 budget, 1 mid, 2 premium
BRANDS = {
    "grocery": [("FreshFarm", 0), ("良品铺子", 1), ("三只松鼠", 1), ("Harvest Gold", 2), ("百草味", 0)],
    "household": [("CleanPro", 0), ("蓝月亮", 0), ("EcoNest", 1), ("立白", 1), ("Maison Pure", 2)],
    "beauty": [("Lumi", 1), ("百雀羚", 0), ("Aurora Skin", 2), ("自然堂", 1), ("Velvet Rose", 2), ("BudgetGlow", 0)],
    "fashion": [("UrbanThread", 1), ("李宁", 1), ("Nordic Wear", 2), ("安踏", 0), ("Maison Lux", 2), ("BasicCo", 0)],
    "electronics": [("小米", 0), ("华为", 2), ("Voltix", 1), ("SoundWave", 1), ("Apex Tech", 2), ("ZapCell", 0)],
    "home": [("美的", 1), ("苏泊尔", 0), ("HomeCraft", 1), ("Nordhaus", 2), ("CozyLiving", 0)],
    "sports": [("Stride", 1), ("特步", 0), ("PeakForm", 2), ("FlexFit", 0)],
}
# Typical list price (yuan) of the category at mid tier; tiers scale it.
CATEGORY_PRICE = {"grocery": 28, "household": 35, "beauty": 120, "fashion": 260, "electronics": 680, "home": 420, "sports": 150}
TIER_PRICE_FACTOR = (0.6, 1.0, 2.2)
VARIANTS = (("Classic", "经典款"), ("Pro", "专业版"), ("Mini", "迷你装"), ("Family Pack", "家庭装"), ("Limited", "限量版"),
            ("Lite", "轻享版"), ("Max", "加大款"), ("Eco", "环保款"))

SEARCH_TERMS = {
    "grocery": ("绿茶", "green tea", "零食", "coffee", "坚果礼盒", "大米"),
    "household": ("洗衣液", "detergent", "纸巾", "cleaner", "垃圾袋"),
    "beauty": ("面霜", "sunscreen", "口红", "serum", "补水面膜", "防晒"),
    "fashion": ("运动鞋", "sneakers", "连衣裙", "hoodie", "牛仔外套", "dress"),
    "electronics": ("蓝牙耳机", "earbuds", "智能手表", "power bank", "平板", "keyboard"),
    "home": ("电饭煲", "air purifier", "床单", "lamp", "锅具"),
    "sports": ("瑜伽垫", "yoga mat", "哑铃", "running", "羽毛球拍"),
}

UTM = (
    ("baidu", "cpc", "brand_search"), ("google", "cpc", "brand_search"), ("weibo", "social", "spring_launch"),
    ("xiaohongshu", "social", "beauty_week"), ("newsletter", "email", "monthly_digest"), ("partner_blog", "referral", "affiliate"),
    ("wechat", "social", "double_11"),
)

TICKET_TEXT = {
    "delivery": {
        "zh": ("我的快递三天了还没到，请帮忙查一下物流。", "包裹显示已签收，但我没有收到。", "配送员没有打电话就把货放在门口了。", "订单一直显示待发货，什么时候能发？"),
        "en": ("My parcel has not arrived after five days, can you check the tracking?", "Tracking says delivered but I never got it.",
               "The courier left the box outside without calling.", "When will my order ship? It still says processing."),
    },
    "returns": {
        "zh": ("收到的商品有破损，我要退货。", "尺码不合适，想换大一号。", "退款申请提交一周了还没到账。", "退货寄回去了，请确认收货。"),
        "en": ("The item arrived damaged and I want to return it.", "Wrong size, I would like an exchange.",
               "I returned the order a week ago and still have no refund.", "I sent the return back, please confirm you received it."),
    },
    "product": {
        "zh": ("这个产品用了两天就坏了。", "颜色和图片上的不一样。", "请问这款面霜适合敏感肌吗？", "说明书是英文的，有中文版吗？"),
        "en": ("The product stopped working after two days.", "The colour is different from the picture.",
               "Is this cream suitable for sensitive skin?", "Is there a manual in another language?"),
    },
    "billing": {
        "zh": ("我被扣了两次款。", "优惠券没有生效，多付了钱。", "发票抬头写错了，需要重开。"),
        "en": ("I was charged twice for the same order.", "My coupon was not applied at checkout.", "I need a corrected invoice."),
    },
    "account": {
        "zh": ("登录不上账号，验证码收不到。", "想修改绑定的手机号。", "请帮我注销会员账号。"),
        "en": ("I cannot log in, the verification code never arrives.", "How do I change the phone number on my account?",
               "Please help me update my e-mail address."),
    },
}

# Feedback fragments by sentiment; topics give comments a second dimension to model.
FEEDBACK = {
    "positive": {
        "zh": ("质量非常好，超出预期", "物流很快，第二天就到了", "客服态度特别好，耐心解答", "价格实惠，性价比很高", "包装精美，送人很有面子",
               "一直在这里买，值得信赖", "App很好用，下单很方便", "会推荐给朋友和家人", "退换货很顺利，点赞", "东西很正品，满意"),
        "en": ("great quality, better than expected", "super fast delivery", "customer service was friendly and helpful",
               "good value for money", "lovely packaging", "always reliable, I keep coming back", "the app is easy to use",
               "would definitely recommend to friends", "returns were painless", "genuine products, very happy"),
    },
    "neutral": {
        "zh": ("还可以，没有特别的感觉", "东西一般，和描述差不多", "物流速度正常", "价格中规中矩", "希望多一些优惠活动",
               "App偶尔有点卡", "整体还行吧", "包装普通"),
        "en": ("it was okay, nothing special", "product matches the description", "delivery took the usual time",
               "prices are average", "would like more promotions", "the app is sometimes slow", "overall fine", "packaging was plain"),
    },
    "negative": {
        "zh": ("质量太差了，用了几天就坏", "物流太慢，等了一个多星期", "客服不回复，非常失望", "价格太贵，不值这个钱", "退款拖了很久还没到",
               "收到的东西是破的", "再也不会买了", "App老是闪退，体验很糟糕", "和图片完全不一样，像假货", "投诉了也没人处理"),
        "en": ("terrible quality, broke after a few days", "delivery was far too slow", "support never answered, very disappointed",
               "way too expensive for what it is", "refund still not processed after weeks", "item arrived broken",
               "never buying here again", "the app keeps crashing", "looks nothing like the photos", "complaint ignored"),
    },
}
FEEDBACK_OPENERS = {
    "positive": {"zh": ("总的来说，", "真心说，", "", "这次购物"), "en": ("Honestly, ", "Overall ", "", "Really ")},
    "neutral": {"zh": ("嗯，", "", "说实话，"), "en": ("Well, ", "", "To be fair, ")},
    "negative": {"zh": ("太失望了，", "", "唉，"), "en": ("Sadly, ", "", "Ugh, ")},
}
SOCIAL_TAGS = {"zh": ("#购物分享#", "#好物推荐#", "#吐槽#", ""), "en": ("#shopping", "#haul", "#customerservice", "")}

NOT_ALLOWED = {
    "channel": "fax", "status": "shipped", "event_type": "scroll", "device": "smart_tv", "category": "warranty",
    "platform": "tiktok", "variant": "holdout", "request_type": "rectification", "gender": "f",
    "acquisition_channel": "tv_ad",
}
