"""The world the generator draws from: regions, skills, names, how deals of each grade look, and the
profile of every benchmark size and market stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Size = Literal["S", "M", "L", "XL"]
Stage = Literal["new_market", "fast_growth", "mature_market"]
Json = dict[str, Any]

SIZES: tuple[Size, ...] = get_args(Size)
STAGES: tuple[Stage, ...] = get_args(Stage)


@dataclass(frozen=True)
class Region:
    name: str
    weight: float
    cities: tuple[str, ...]
    provinces: tuple[str, ...]
    industries: tuple[tuple[str, float], ...]


REGIONS: tuple[Region, ...] = (
    Region(
        "east",
        0.25,
        ("Shanghai", "Hangzhou", "Nanjing", "Suzhou", "Ningbo", "Hefei", "Jinan", "Qingdao"),
        ("Shanghai", "Zhejiang", "Jiangsu", "Shandong", "Anhui"),
        (
            ("finance", 0.3),
            ("manufacturing", 0.25),
            ("retail", 0.2),
            ("healthcare", 0.1),
            ("telecom", 0.1),
            ("government", 0.05),
        ),
    ),
    Region(
        "north",
        0.2,
        ("Beijing", "Tianjin", "Shijiazhuang", "Taiyuan", "Hohhot"),
        ("Beijing", "Tianjin", "Hebei", "Shanxi", "Inner Mongolia"),
        (
            ("government", 0.3),
            ("finance", 0.2),
            ("energy", 0.2),
            ("telecom", 0.15),
            ("healthcare", 0.1),
            ("manufacturing", 0.05),
        ),
    ),
    Region(
        "south",
        0.2,
        ("Guangzhou", "Shenzhen", "Dongguan", "Foshan", "Xiamen", "Fuzhou", "Nanning"),
        ("Guangdong", "Fujian", "Guangxi", "Hainan"),
        (
            ("manufacturing", 0.3),
            ("retail", 0.25),
            ("telecom", 0.15),
            ("finance", 0.15),
            ("healthcare", 0.1),
            ("government", 0.05),
        ),
    ),
    Region(
        "central",
        0.12,
        ("Wuhan", "Changsha", "Zhengzhou", "Nanchang"),
        ("Hubei", "Hunan", "Henan", "Jiangxi"),
        (
            ("manufacturing", 0.3),
            ("government", 0.2),
            ("energy", 0.2),
            ("healthcare", 0.15),
            ("finance", 0.1),
            ("retail", 0.05),
        ),
    ),
    Region(
        "west",
        0.13,
        ("Chengdu", "Chongqing", "Xi'an", "Kunming", "Guiyang"),
        ("Sichuan", "Chongqing", "Shaanxi", "Yunnan", "Guizhou"),
        (
            ("government", 0.3),
            ("energy", 0.25),
            ("healthcare", 0.15),
            ("finance", 0.1),
            ("telecom", 0.1),
            ("manufacturing", 0.1),
        ),
    ),
    Region(
        "northeast",
        0.1,
        ("Shenyang", "Dalian", "Changchun", "Harbin"),
        ("Liaoning", "Jilin", "Heilongjiang"),
        (("manufacturing", 0.35), ("energy", 0.25), ("government", 0.2), ("finance", 0.1), ("healthcare", 0.1)),
    ),
)
REGION_BY_NAME = {region.name: region for region in REGIONS}

# The skills catalog, grouped by the industry that asks for them first; platform skills serve every industry.
INDUSTRY_SKILLS: dict[str, tuple[str, ...]] = {
    "finance": ("core-banking", "payments"),
    "manufacturing": ("erp", "mes", "iot"),
    "retail": ("crm", "ecommerce", "payments"),
    "energy": ("iot", "erp"),
    "government": ("e-gov",),
    "telecom": ("bss-oss", "crm"),
    "healthcare": ("his",),
}
PLATFORM_SKILLS: tuple[str, ...] = ("cloud", "data-platform", "security")
ROLE_SKILLS: tuple[str, ...] = ("testing", "solution-management")
SKILLS: tuple[str, ...] = (
    *dict.fromkeys(s for skills in INDUSTRY_SKILLS.values() for s in skills),
    *PLATFORM_SKILLS,
    *ROLE_SKILLS,
)
# Which platform skill an industry's architects usually bring.
INDUSTRY_PLATFORM: dict[str, tuple[str, ...]] = {
    "finance": ("cloud", "data-platform", "security"),
    "manufacturing": ("cloud", "data-platform"),
    "retail": ("cloud", "data-platform"),
    "energy": ("data-platform", "security"),
    "government": ("security", "data-platform", "cloud"),
    "telecom": ("cloud", "data-platform"),
    "healthcare": ("data-platform", "security"),
}

# Delivery centers at headquarters, one per industry cluster.
DELIVERY_CENTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dc-finance", ("finance",)),
    ("dc-industry", ("manufacturing", "energy")),
    ("dc-public", ("government", "healthcare")),
    ("dc-digital", ("retail", "telecom")),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


HQ_REGION = "north"
# Delivery-center roles and their shares; a mature market staffs iron triangles around customer-lead experts.
DC_ROLES: tuple[tuple[str, float], ...] = (
    ("solution_architect", 0.3),
    ("industry_consultant", 0.25),
    ("solution_manager", 0.15),
    ("test_engineer", 0.15),
    ("delivery_engineer", 0.15),
)
DC_ROLES_MATURE: tuple[tuple[str, float], ...] = (
    ("solution_architect", 0.3),
    ("customer_lead_expert", 0.25),
    ("solution_manager", 0.2),
    ("test_engineer", 0.15),
    ("delivery_engineer", 0.1),
)
HOTLINE_REGION = "central"

SURNAMES = _words(
    "Wang Li Zhang Liu Chen Yang Zhao Huang Zhou Wu Xu Sun Hu Zhu Gao Lin He Guo Ma Luo Liang Song Zheng "
    "Xie Han Tang Feng Yu Dong Xiao Cheng Cao Yuan Deng Fu Shen Zeng Peng Lu Su Jiang Cai Jia Ding Wei Xue "
    "Ye Yan Pan Du"
)
GIVEN_NAMES = _words(
    "Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Juan Tao Ming Chao Xiuying Xia Ping Gang Hui "
    "Hao Yu Xin Bin Lin Ting Peng Hua Dan Kai Rui Bo Jian Ning Yun Lan Xiaoming Jianguo Jianhua Guohua "
    "Zhiqiang Haiyan Xiaoyan Yuting Zihan Haoran Yifan Siyu Mengyao Jiahui Zhenyu Wenjie Tianyi Shuang Lili "
    "Qian Hong Fei Xiaohui Chunmei Dongmei Yanping Weidong Jianjun Zhiwei Xiaolong Yiming Ruoxi"
)
BRANDS = _words(
    "Huaxin Hengtong Jinlong Xinda Ruifeng Tianhe Zhongke Haitian Longsheng Mingyang Yuanda Dongfang Xinghe "
    "Kaiyuan Hongda Jiahe Wanfeng Guotai Shengshi Anxin Fuyuan Huarun Zhongtian Baosheng Yongxing Taihe "
    "Jinhui Lianchuang"
)
CUSTOMERS: dict[str, tuple[str, ...]] = {
    "finance": (
        "{city} Rural Commercial Bank",
        "Bank of {city}",
        "{brand} Securities",
        "{brand} Life Insurance",
        "{province} Rural Credit Union",
        "{brand} Consumer Finance",
    ),
    "manufacturing": (
        "{brand} Heavy Industry",
        "{city} {brand} Auto Parts",
        "{brand} Electronics",
        "{brand} Precision Machinery",
        "{brand} Steel Group",
        "{brand} New Materials",
    ),
    "retail": (
        "{brand} Supermarkets",
        "{city} {brand} Department Store",
        "{brand} Fresh",
        "{brand} Pharmacy Chain",
        "{brand} Home Appliances",
    ),
    "energy": (
        "State Grid {province}",
        "{brand} New Energy",
        "{city} Gas Group",
        "{brand} Photovoltaic",
        "{province} Energy Investment Group",
    ),
    "government": (
        "{city} Big Data Bureau",
        "{city} Public Security Bureau",
        "{city} Social Insurance Center",
        "{province} Tax Service",
        "{city} Government Service Center",
    ),
    "telecom": (
        "{province} Mobile",
        "{province} Unicom",
        "{province} Telecom",
        "{brand} Broadband",
        "{province} Tower",
    ),
    "healthcare": (
        "{city} First People's Hospital",
        "{city} Central Hospital",
        "{province} People's Hospital",
        "{brand} Pharmaceutical",
        "{city} Maternal and Child Health Hospital",
    ),
}
PROJECTS: dict[str, tuple[str, ...]] = {
    "core-banking": ("Core banking renewal", "Distributed core banking migration", "Core system localization"),
    "payments": ("Mobile payments platform", "Aggregated payment gateway", "Cross-border payments hub"),
    "erp": ("ERP upgrade", "Group finance ERP consolidation", "Domestic ERP replacement"),
    "mes": ("MES rollout", "Smart factory MES phase 2", "Digital workshop"),
    "iot": ("Predictive maintenance IoT", "Smart metering platform", "Equipment connectivity platform"),
    "crm": ("CRM consolidation", "Member loyalty CRM", "Dealer management system"),
    "ecommerce": ("Omnichannel e-commerce", "Mini-program storefront", "B2B ordering portal"),
    "e-gov": ("One-stop government services portal", "City operations center", "Data sharing exchange"),
    "bss-oss": ("BSS modernization", "5G OSS upgrade", "Billing system cloud migration"),
    "his": (
        "Hospital information system upgrade",
        "Electronic medical records level 5",
        "Regional health data platform",
    ),
    "cloud": ("Hybrid cloud migration", "Private cloud build-out", "Container platform"),
    "data-platform": ("Data lake platform", "Data governance program", "Real-time data warehouse"),
    "security": ("Zero-trust security", "Classified protection 2.0 compliance", "SOC build-out"),
    "testing": ("Test automation program", "Performance test center"),
}
PIPELINE_STAGES: tuple[tuple[str, float, float, float, float], ...] = (
    # stage, share of the pipeline, win probability range, presales intensity (how much of the
    # grade's usual window the deal asks for: little while qualifying, most while shaping the solution)
    ("lead", 0.2, 0.1, 0.25, 0.5),
    ("qualified", 0.25, 0.2, 0.4, 0.75),
    ("solution", 0.25, 0.3, 0.55, 1.0),
    ("proposal", 0.2, 0.4, 0.7, 1.0),
    ("negotiation", 0.1, 0.6, 0.8, 0.6),
)


@dataclass(frozen=True)
class GradeShape:
    """How deals of one grade look: value, how many demands, how heavy, how long, how often remote."""

    value: tuple[float, float]
    demands: tuple[int, ...]
    headcount: tuple[int, ...]
    min_level: tuple[int, ...]
    hours: tuple[int, ...]
    span: tuple[int, int]
    remote_ok: float  # share of the secondary demands that can be done remotely (a third of that for the main one)
    explicit_budget: float


GRADE_SHAPES: dict[str, GradeShape] = {
    "A": GradeShape((2e6, 1e7), (3, 4, 4), (1, 2, 3, 3), (3, 4, 4, 4, 5), (12, 16, 20, 24), (8, 12), 0.1, 0.3),
    "B": GradeShape((5e5, 3e6), (2, 3, 3), (1, 2, 2, 3), (3, 3, 4, 4), (12, 16, 20, 24), (6, 10), 0.15, 0.2),
    "C": GradeShape((1e5, 8e5), (1, 2, 2), (1,), (2, 3, 3, 3, 4), (8, 12, 12, 16), (4, 8), 0.7, 0.1),
    "D": GradeShape((3e4, 2e5), (1, 2, 2), (1,), (2, 2, 3), (4, 4, 8), (1, 3), 0.8, 0.05),
    "E": GradeShape((5e3, 6e4), (1, 1, 2), (1,), (1, 2, 2, 3), (4,), (1, 2), 0.9, 0.05),
}
# Presales spend as a share of expected value. The contract's defaults (1-3 %) fund a few days per deal;
# real B2B IT presales costs 2-5 % of the deal value, which is 5-8 % of its expected value. With the
# defaults nearly every demand here would be over budget and the hours would never compete.
BUDGET_RATIO: dict[str, float] = {"A": 0.08, "B": 0.08, "C": 0.08, "D": 0.08, "E": 0.08}
GRADE_PYRAMID: dict[str, float] = {"A": 0.05, "B": 0.15, "C": 0.3, "D": 0.3, "E": 0.2}


@dataclass(frozen=True)
class Profile:
    """Everything that distinguishes one kind of instance from another."""

    staff: int
    opportunities: int
    weeks: int
    time_limit_s: float
    start: str = "2026-11-23"
    regions: tuple[str, ...] = tuple(r.name for r in REGIONS)
    delivery_center_share: float = 0.2
    hotline_share: float = 0.2
    grades: dict[str, float] = field(default_factory=lambda: dict(GRADE_PYRAMID))
    policy: Json = field(default_factory=lambda: {"budget_ratio": dict(BUDGET_RATIO)})
    # Skill levels of local-office people; a young market hires seniors to serve the big deals locally.
    local_levels: tuple[int, ...] = (2, 3, 3, 3, 4, 4)
    # Stretches the windows of A and B deals (C half as much): how much work the pipeline holds for the bench.
    load: float = 1.0
    iron_triangle: bool = False
    key_accounts: int = 0


SIZE_PROFILES: dict[Size, Profile] = {
    # S is a toy: three regions, so that fifteen people still cover the deals of their region.
    "S": Profile(staff=15, opportunities=20, weeks=4, time_limit_s=10, regions=("east", "north", "south")),
    # Loads chosen so that the demanded hours are about 1.5x the capacity (see contention()).
    "M": Profile(staff=80, opportunities=200, weeks=8, time_limit_s=10, load=2.0),
    "L": Profile(staff=300, opportunities=1000, weeks=12, time_limit_s=30, load=1.6),
    "XL": Profile(staff=1500, opportunities=5000, weeks=12, time_limit_s=30, load=1.6),
}

_LOCAL_LEADS: Json = {
    "budget_ratio": BUDGET_RATIO,
    "tiers": {"A": ["local_office"], "B": ["local_office"]},
    "lead_units": {"A": ["local_office"], "B": ["local_office"]},
}
STAGE_PROFILES: dict[Stage, Profile] = {
    # Few people in two young local offices, no delivery center: the offices serve and lead every grade.
    "new_market": Profile(
        staff=20,
        opportunities=30,
        weeks=8,
        time_limit_s=10,
        start="2027-03-01",
        regions=("west", "central"),
        delivery_center_share=0.0,
        hotline_share=0.0,
        grades={"A": 0.04, "B": 0.14, "C": 0.3, "D": 0.3, "E": 0.22},
        policy=_LOCAL_LEADS,
        local_levels=(2, 3, 3, 4, 4, 5),
        load=1.6,
    ),
    # Many mid-size deals chase a thin delivery center, planned two months at a time: the pipeline asks
    # for far more than the bench has.
    "fast_growth": Profile(
        staff=80,
        opportunities=200,
        weeks=8,
        time_limit_s=10,
        start="2027-03-01",
        delivery_center_share=0.15,
        hotline_share=0.15,
        grades={"A": 0.06, "B": 0.2, "C": 0.32, "D": 0.26, "E": 0.16},
        load=1.5,
    ),
    # Key accounts decide the market: A deals are iron triangles planned over (nearly) the whole quarter;
    # a larger delivery center keeps contention moderate.
    "mature_market": Profile(
        staff=150,
        opportunities=400,
        weeks=12,
        time_limit_s=30,
        start="2027-03-01",
        delivery_center_share=0.3,
        hotline_share=0.2,
        grades={"A": 0.08, "B": 0.18, "C": 0.29, "D": 0.27, "E": 0.18},
        iron_triangle=True,
        key_accounts=24,
        load=1.3,
    ),
}
