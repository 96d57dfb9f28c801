"""Seeded, realistic allocation requests: benchmark sizes S-XL and the three market-stage scenarios."""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from service.contract import Policy

Size = Literal["S", "M", "L", "XL"]
Stage = Literal["new_market", "fast_growth", "mature_market"]
Json = dict[str, Any]

SIZES: tuple[Size, ...] = get_args(Size)
STAGES: tuple[Stage, ...] = get_args(Stage)

# --------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class _Region:
    name: str
    weight: float
    cities: tuple[str, ...]
    provinces: tuple[str, ...]
    industries: tuple[tuple[str, float], ...]


REGIONS: tuple[_Region, ...] = (
    _Region(
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
    _Region(
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
    _Region(
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
    _Region(
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
    _Region(
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
    _Region(
        "northeast",
        0.1,
        ("Shenyang", "Dalian", "Changchun", "Harbin"),
        ("Liaoning", "Jilin", "Heilongjiang"),
        (("manufacturing", 0.35), ("energy", 0.25), ("government", 0.2), ("finance", 0.1), ("healthcare", 0.1)),
    ),
)
_REGION_BY_NAME = {region.name: region for region in REGIONS}

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

_SURNAMES = _words(
    "Wang Li Zhang Liu Chen Yang Zhao Huang Zhou Wu Xu Sun Hu Zhu Gao Lin He Guo Ma Luo Liang Song Zheng "
    "Xie Han Tang Feng Yu Dong Xiao Cheng Cao Yuan Deng Fu Shen Zeng Peng Lu Su Jiang Cai Jia Ding Wei Xue "
    "Ye Yan Pan Du"
)
_GIVEN_NAMES = _words(
    "Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Juan Tao Ming Chao Xiuying Xia Ping Gang Hui "
    "Hao Yu Xin Bin Lin Ting Peng Hua Dan Kai Rui Bo Jian Ning Yun Lan Xiaoming Jianguo Jianhua Guohua "
    "Zhiqiang Haiyan Xiaoyan Yuting Zihan Haoran Yifan Siyu Mengyao Jiahui Zhenyu Wenjie Tianyi Shuang Lili "
    "Qian Hong Fei Xiaohui Chunmei Dongmei Yanping Weidong Jianjun Zhiwei Xiaolong Yiming Ruoxi"
)
_BRANDS = _words(
    "Huaxin Hengtong Jinlong Xinda Ruifeng Tianhe Zhongke Haitian Longsheng Mingyang Yuanda Dongfang Xinghe "
    "Kaiyuan Hongda Jiahe Wanfeng Guotai Shengshi Anxin Fuyuan Huarun Zhongtian Baosheng Yongxing Taihe "
    "Jinhui Lianchuang"
)
_CUSTOMERS: dict[str, tuple[str, ...]] = {
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
_PROJECTS: dict[str, tuple[str, ...]] = {
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
_STAGES: tuple[tuple[str, float, float, float, float], ...] = (
    # stage, share of the pipeline, win probability range, presales intensity (how much of the
    # grade's usual window the deal asks for: little while qualifying, most while shaping the solution)
    ("lead", 0.2, 0.1, 0.25, 0.5),
    ("qualified", 0.25, 0.2, 0.4, 0.75),
    ("solution", 0.25, 0.3, 0.55, 1.0),
    ("proposal", 0.2, 0.4, 0.7, 1.0),
    ("negotiation", 0.1, 0.6, 0.8, 0.6),
)


@dataclass(frozen=True)
class _GradeShape:
    """How deals of one grade look: value, how many demands, how heavy, how long, how often remote."""

    value: tuple[float, float]
    demands: tuple[int, ...]
    headcount: tuple[int, ...]
    min_level: tuple[int, ...]
    hours: tuple[int, ...]
    span: tuple[int, int]
    remote_ok: float  # share of the secondary demands that can be done remotely (a third of that for the main one)
    explicit_budget: float


GRADE_SHAPES: dict[str, _GradeShape] = {
    "A": _GradeShape((2e6, 1e7), (3, 4, 4), (1, 2, 3, 3), (3, 4, 4, 4, 5), (12, 16, 20, 24), (8, 12), 0.1, 0.3),
    "B": _GradeShape((5e5, 3e6), (2, 3, 3), (1, 2, 2, 3), (3, 3, 4, 4), (12, 16, 20, 24), (6, 10), 0.15, 0.2),
    "C": _GradeShape((1e5, 8e5), (1, 2, 2), (1,), (2, 3, 3, 3, 4), (8, 12, 12, 16), (4, 8), 0.7, 0.1),
    "D": _GradeShape((3e4, 2e5), (1, 2, 2), (1,), (2, 2, 3), (4, 4, 8), (1, 3), 0.8, 0.05),
    "E": _GradeShape((5e3, 6e4), (1, 1, 2), (1,), (1, 2, 2, 3), (4,), (1, 2), 0.9, 0.05),
}
# Presales spend as a share of expected value. The contract's defaults (1-3 %) fund a few days per deal;
# real B2B IT presales costs 2-5 % of the deal value, which is 5-8 % of its expected value. With the
# defaults nearly every demand here would be over budget and the hours would never compete.
BUDGET_RATIO: dict[str, float] = {"A": 0.08, "B": 0.08, "C": 0.08, "D": 0.08, "E": 0.08}
GRADE_PYRAMID: dict[str, float] = {"A": 0.05, "B": 0.15, "C": 0.3, "D": 0.3, "E": 0.2}


@dataclass(frozen=True)
class _Profile:
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


SIZE_PROFILES: dict[Size, _Profile] = {
    # S is a toy: three regions, so that fifteen people still cover the deals of their region.
    "S": _Profile(staff=15, opportunities=20, weeks=4, time_limit_s=10, regions=("east", "north", "south")),
    # Loads chosen so that the demanded hours are about 1.5x the capacity (see contention()).
    "M": _Profile(staff=80, opportunities=200, weeks=8, time_limit_s=10, load=2.0),
    "L": _Profile(staff=300, opportunities=1000, weeks=12, time_limit_s=30, load=1.6),
    "XL": _Profile(staff=1500, opportunities=5000, weeks=12, time_limit_s=30, load=1.6),
}

_LOCAL_LEADS: Json = {
    "budget_ratio": BUDGET_RATIO,
    "tiers": {"A": ["local_office"], "B": ["local_office"]},
    "lead_units": {"A": ["local_office"], "B": ["local_office"]},
}
STAGE_PROFILES: dict[Stage, _Profile] = {
    # Few people in two young local offices, no delivery center: the offices serve and lead every grade.
    "new_market": _Profile(
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
    "fast_growth": _Profile(
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
    "mature_market": _Profile(
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

# --------------------------------------------------------------------------- public API


def generate(size: Size, seed: int) -> Json:
    """A benchmark request of the given size; the same (size, seed) always gives the same request."""
    if size not in SIZE_PROFILES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    return _Builder(SIZE_PROFILES[size], seed).build()


def market(stage: Stage, seed: int = 7) -> Json:
    """A request for one market stage of DOMAIN.md: new market, fast growth or mature market."""
    if stage not in STAGE_PROFILES:
        raise ValueError(f"unknown market stage {stage!r}; choose one of {', '.join(STAGES)}")
    return _Builder(STAGE_PROFILES[stage], seed).build()


def contention(request: Json) -> dict[str, float]:
    """Demanded hours (slots x weeks x hours per week, and lead hours) against the staff's capacity."""
    weeks = int(request["horizon"]["weeks"])
    capacity = 0.0
    for person in request["staff"]:
        hours = person["capacity_hours"]
        capacity += sum(hours) if isinstance(hours, list) else hours * weeks
    lead_hours_per_week = float(request.get("policy", {}).get("lead_hours_per_week", 2))
    demanded = 0.0
    lead = 0.0
    for opportunity in request["opportunities"]:
        demands = opportunity["demands"]
        for demand in demands:
            span = demand["end_week"] - demand["start_week"] + 1
            demanded += demand["hours_per_week"] * span * demand.get("headcount", 1)
        if demands:
            active = max(d["end_week"] for d in demands) - min(d["start_week"] for d in demands) + 1
            lead += lead_hours_per_week * active
    return {
        "demanded_hours": demanded,
        "lead_hours": lead,
        "capacity_hours": capacity,
        "ratio": demanded / capacity if capacity else math.inf,
        "ratio_with_leads": (demanded + lead) / capacity if capacity else math.inf,
    }


def to_json(request: Json) -> str:
    """Readable, stable JSON: one-space indent, and every object or list of plain values on one line."""
    return _render(request, 0) + "\n"


def _render(value: Any, depth: int) -> str:
    if isinstance(value, dict):
        items = list(value.items())
        if all(not isinstance(v, dict | list) for _, v in items) or not items:
            return json.dumps(value)
        pad = " " * (depth + 1)
        body = ",\n".join(f"{pad}{json.dumps(k)}: {_render(v, depth + 1)}" for k, v in items)
        return "{\n" + body + "\n" + " " * depth + "}"
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value) or not value:
            return json.dumps(value)
        pad = " " * (depth + 1)
        body = ",\n".join(pad + _render(v, depth + 1) for v in value)
        return "[\n" + body + "\n" + " " * depth + "]"
    return json.dumps(value)


# --------------------------------------------------------------------------- building


def _apportion(total: int, shares: Sequence[float], minimum: int = 0) -> list[int]:
    """Split `total` by `shares` (largest remainder), giving each part at least `minimum` when possible."""
    weight = sum(shares)
    exact = [total * s / weight for s in shares]
    counts = [max(minimum, math.floor(x)) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - exact[i], -shares[i], i))
    i = 0
    while sum(counts) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts) > total:
        j = max(range(len(counts)), key=lambda k: (counts[k] - exact[k], k))
        counts[j] -= 1
    return counts


class _Builder:
    """One generation run: a seeded random stream and the request assembled from it."""

    def __init__(self, profile: _Profile, seed: int) -> None:
        self.profile = profile
        self.rng = random.Random(seed)
        self.weeks = profile.weeks
        self.regions = [_REGION_BY_NAME[name] for name in profile.regions]
        merged = Policy.model_validate(profile.policy)
        self.tiers: dict[str, list[str]] = {g: list(kinds) for g, kinds in merged.tiers.items()}
        self.lead_units: dict[str, list[str]] = {g: list(kinds) for g, kinds in merged.lead_units.items()}
        self.lead_hours = float(merged.lead_hours_per_week)
        self.budget_ratio: dict[str, float] = {g: r for g, r in merged.budget_ratio.items()}
        self.surcharge = float(merged.travel_surcharge)
        self.names: set[str] = set()
        self.customers: dict[tuple[str, str], list[str]] = {}
        self.key_accounts: list[tuple[str, str, str]] = []
        # Seniors (level 3+) per (region or unit kind, skill), and those of them who may lead.
        self.supply: dict[tuple[str, str], int] = {}
        self.lead_supply: dict[tuple[str, str], int] = {}
        self.experts = 0

    # ----------------------------------------------------------------- staff

    def build(self) -> Json:
        staff = self._staff()
        opportunities = self._opportunities(staff)
        _Impossible(self, staff, opportunities).inject(max(1, self.profile.opportunities // 200))
        request: Json = {
            "horizon": {"start": self.profile.start, "weeks": self.weeks},
            "staff": staff,
            "opportunities": opportunities,
        }
        if self.profile.policy:
            request["policy"] = json.loads(json.dumps(self.profile.policy))
        request["options"] = {"time_limit_s": self.profile.time_limit_s}
        return request

    def _person_name(self) -> str:
        rng = self.rng
        for _ in range(50):
            name = f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN_NAMES)}"
            if name not in self.names:
                break
        self.names.add(name)
        return name

    def _staff(self) -> list[Json]:
        p = self.profile
        n_dc = round(p.staff * p.delivery_center_share)
        n_hotline = round(p.staff * p.hotline_share)
        n_local = p.staff - n_dc - n_hotline
        width = max(3, len(str(p.staff)))
        staff: list[Json] = []
        dc_units = self._delivery_center_units(n_dc)
        # Roles by quota, not by lot, so that even a three-person center has an architect and a consultant.
        roles = DC_ROLES_MATURE if p.iron_triangle else DC_ROLES
        dc_roles = [
            r for (r, _), n in zip(roles, _apportion(n_dc, [w for _, w in roles]), strict=True) for _ in range(n)
        ]
        self.rng.shuffle(dc_roles)
        for i, ((unit_id, industries), role) in enumerate(zip(dc_units, dc_roles, strict=True), start=1):
            staff.append(self._delivery_center_member(f"dc-{i:0{width}d}", unit_id, industries, role))
        per_region = _apportion(n_local, [r.weight for r in self.regions], minimum=1)
        for region, count in zip(self.regions, per_region, strict=True):
            for i in range(1, count + 1):
                staff.append(self._local_member(f"{region.name}-{i:0{width}d}", region, head=i == 1))
        for i in range(1, n_hotline + 1):
            staff.append(self._hotline_member(f"hot-{i:0{width}d}"))
        return staff

    def _delivery_center_units(self, count: int) -> list[tuple[str, tuple[str, ...]]]:
        # Finance is the largest cluster at headquarters; the others share the rest.
        per_unit = _apportion(count, [0.3, 0.3, 0.2, 0.2], minimum=1 if count >= 4 else 0)
        units: list[tuple[str, tuple[str, ...]]] = []
        for (unit_id, industries), n in zip(DELIVERY_CENTERS, per_unit, strict=True):
            units.extend([(unit_id, industries)] * n)
        return units

    def _capacity(self) -> int | list[int]:
        """Mostly full time; some part-timers; some with a week or two of leave inside the horizon."""
        rng = self.rng
        weekly = rng.choice((20, 24, 32)) if rng.random() < 0.12 else 40
        if self.weeks >= 4 and rng.random() < 0.15:
            hours = [weekly] * self.weeks
            for week in rng.sample(range(self.weeks), rng.choice((1, 1, 2))):
                hours[week] = 0
            return hours
        return weekly

    def _max_opportunities(self, unlimited: float) -> int | None:
        return None if self.rng.random() < unlimited else self.rng.randint(2, 6)

    def _delivery_center_member(self, staff_id: str, unit_id: str, industries: tuple[str, ...], role: str) -> Json:
        rng = self.rng
        industry = rng.choice(industries)
        if role in ("industry_consultant", "customer_lead_expert"):
            # Industry experts are hired industry by industry, so that every industry has one before any has two.
            industry = tuple(INDUSTRY_SKILLS)[self.experts % len(INDUSTRY_SKILLS)]
            unit_id = next(unit for unit, covered in DELIVERY_CENTERS if industry in covered)
            self.experts += 1
        home = INDUSTRY_SKILLS[industry]
        skills: dict[str, int] = {}
        if role in ("industry_consultant", "customer_lead_expert"):
            skills[home[0]] = 5 if role == "customer_lead_expert" else rng.choice((4, 5))
            for other in rng.sample(home[1:], min(len(home) - 1, rng.randint(0, 2))):
                skills[other] = rng.choice((3, 4))
            if rng.random() < 0.5:
                skills["solution-management"] = rng.choice((3, 4))
        elif role == "solution_manager":
            skills["solution-management"] = rng.choice((4, 4, 5))
            skills[rng.choice(home)] = rng.choice((3, 4))
        elif role == "solution_architect":
            platform = INDUSTRY_PLATFORM[industry]
            skills[rng.choice(platform)] = rng.choice((4, 5))
            for other in rng.sample(PLATFORM_SKILLS, rng.randint(0, 1)):
                skills.setdefault(other, rng.choice((3, 4)))
            skills.setdefault(rng.choice(home), rng.choice((3, 4)))
        elif role == "test_engineer":
            skills["testing"] = rng.choice((4, 4, 5))
            skills[rng.choice(home)] = 3
        else:
            skills[rng.choice(home)] = rng.choice((3, 4, 5))
            skills.setdefault(rng.choice(PLATFORM_SKILLS), rng.choice((3, 4)))
            skills.setdefault("testing", 3)
        # Delivery-center people have worked across their center's industries: a broader bench.
        cluster = next(covered for unit, covered in DELIVERY_CENTERS if unit == unit_id)
        breadth = [x for i in cluster for x in INDUSTRY_SKILLS[i] if x not in skills]
        for other in rng.sample(breadth, min(len(breadth), rng.randint(1, 2))):
            if len(skills) < 5:
                skills[other] = rng.choice((3, 3, 4))
        top = max(skills.values())
        rate = min(180, 110 + (top - 3) * 25 + rng.uniform(0, 20))
        can_lead = rng.random() < (0.4 if role in ("test_engineer", "delivery_engineer") else 0.95)
        return self._person(staff_id, role, ("delivery_center", unit_id, HQ_REGION), skills, rate, can_lead, 0.2)

    def _local_member(self, staff_id: str, region: _Region, head: bool) -> Json:
        """A local-office member; the office's head is an account/solution manager who may lead."""
        rng = self.rng
        skills: dict[str, int] = {}
        industries = [name for name, _ in region.industries]
        weights = [w for _, w in region.industries]
        role = "account_solution_manager" if head or rng.random() < 0.25 else "presales_engineer"
        wanted = rng.choice((2, 3, 3)) - (role == "account_solution_manager")
        while len(skills) < wanted:
            if rng.random() < 0.75:
                industry = rng.choices(industries, weights)[0]
                skill = rng.choice(INDUSTRY_SKILLS[industry])
            else:
                skill = rng.choice((*PLATFORM_SKILLS, "testing"))
            skills.setdefault(skill, rng.choice(self.profile.local_levels))
        if role == "account_solution_manager":
            skills["solution-management"] = rng.choice((2, 3, 3, 4))
        top = max(skills.values())
        rate = min(110, 60 + (top - 2) * 14 + rng.uniform(0, 20))
        can_lead = head or rng.random() < (0.8 if role == "account_solution_manager" else 0.45)
        unit = ("local_office", f"office-{region.name}", region.name)
        return self._person(staff_id, role, unit, skills, rate, can_lead, 0.25)

    def _hotline_member(self, staff_id: str) -> Json:
        rng = self.rng
        # Remote work is mostly platform demos and testing, plus a product or two of some industry.
        skills: dict[str, int] = {}
        for skill in rng.sample((*PLATFORM_SKILLS, "testing"), 2):
            skills[skill] = rng.choice((2, 3, 3, 3, 4))
        industry_skills = [s for s in SKILLS if s not in (*PLATFORM_SKILLS, *ROLE_SKILLS)]
        for skill in rng.sample(industry_skills, rng.randint(1, 2)):
            skills[skill] = rng.choice((2, 3, 3, 3, 4))
        top = max(skills.values())
        rate = min(60, 40 + (top - 2) * 7 + rng.uniform(0, 8))
        unit = ("hotline", "hotline", HOTLINE_REGION)
        return self._person(staff_id, "hotline_engineer", unit, skills, rate, False, 0.5)

    def _person(
        self,
        staff_id: str,
        role: str,
        unit: tuple[str, str, str],
        skills: dict[str, int],
        rate: float,
        can_lead: bool,
        unlimited: float,
    ) -> Json:
        kind, unit_id, region = unit
        person: Json = {
            "id": staff_id,
            "name": self._person_name(),
            "role": role,
            "unit": {"kind": kind, "id": unit_id, "region": region},
            "skills": skills,
            "hourly_rate": float(round(rate / 5) * 5),
            "capacity_hours": self._capacity(),
            "can_lead": can_lead,
        }
        limit = self._max_opportunities(unlimited)
        if limit is not None or self.rng.random() < 0.5:
            person["max_opportunities"] = limit
        return person

    # ----------------------------------------------------------------- opportunities

    def _customer(self, region: _Region, industry: str) -> str:
        rng = self.rng
        known = self.customers.setdefault((region.name, industry), [])
        if known and rng.random() < 0.25:
            return rng.choice(known)
        template = rng.choice(_CUSTOMERS[industry])
        name = template.format(
            city=rng.choice(region.cities), province=rng.choice(region.provinces), brand=rng.choice(_BRANDS)
        )
        known.append(name)
        return name

    def _choose_key_accounts(self) -> None:
        rng = self.rng
        names: set[str] = set()
        while len(self.key_accounts) < self.profile.key_accounts:
            region = rng.choices(self.regions, [r.weight for r in self.regions])[0]
            industry = rng.choices([i for i, _ in region.industries], [w for _, w in region.industries])[0]
            name = self._customer(region, industry)
            if name not in names:
                names.add(name)
                self.key_accounts.append((region.name, industry, name))

    def _opportunities(self, staff: list[Json]) -> list[Json]:
        p = self.profile
        rng = self.rng
        self._choose_key_accounts()
        for person in staff:
            # Local people count for their own region; the delivery center and the hotline for every region.
            kind = person["unit"]["kind"]
            where = person["unit"]["region"] if kind == "local_office" else kind
            for skill, level in person["skills"].items():
                if level >= 3:
                    self.supply[where, skill] = self.supply.get((where, skill), 0) + 1
                    if person["can_lead"]:
                        self.lead_supply[where, skill] = self.lead_supply.get((where, skill), 0) + 1
        grades = [
            g
            for g, n in zip(p.grades, _apportion(p.opportunities, list(p.grades.values())), strict=True)
            for _ in range(n)
        ]
        rng.shuffle(grades)
        width = max(4, len(str(p.opportunities)))
        opportunities: list[Json] = []
        local_by_region: dict[str, list[str]] = {}
        for person in staff:
            if person["unit"]["kind"] == "local_office":
                local_by_region.setdefault(person["unit"]["region"], []).append(person["id"])
        for i, grade in enumerate(grades, start=1):
            opportunity = self._opportunity(f"opp-{i:0{width}d}", grade)
            # Now and then a customer refuses someone (a former competitor's consultant, a bad history).
            nearby = local_by_region.get(opportunity["region"], [])
            if nearby and rng.random() < 0.02:
                opportunity["excluded_staff"] = [rng.choice(nearby)]
            opportunities.append(opportunity)
        return opportunities

    def _opportunity(self, opportunity_id: str, grade: str) -> Json:
        rng = self.rng
        shape = GRADE_SHAPES[grade]
        if self.key_accounts and grade in "AB" and rng.random() < 0.85:
            region_name, industry, customer = rng.choice(self.key_accounts)
            region = _REGION_BY_NAME[region_name]
        else:
            region = rng.choices(self.regions, [r.weight for r in self.regions])[0]
            industry = self._industry(region, grade)
            customer = self._customer(region, industry)
        stage, low, high, intensity = self._stage()
        win_probability = round(rng.uniform(low, high) * 20) / 20
        low_value, high_value = shape.value
        position = rng.random()  # where the deal sits in its grade's value range, 0 smallest to 1 largest
        deal_value = _round_money(low_value * (high_value / low_value) ** position)
        # The larger the deal within its grade, the longer the presales work it asks for.
        intensity *= 0.6 + 0.8 * position
        if self.profile.iron_triangle and grade == "A":
            demands = self._iron_triangle(industry)
        else:
            demands = self._demands(grade, industry, region.name, intensity)
        primary = demands[0]["skill"]
        projects = _PROJECTS.get(primary) or _PROJECTS[INDUSTRY_SKILLS[industry][0]]
        name = rng.choice(projects)
        if rng.random() < 0.15:
            name += rng.choice((" phase 2", " pilot", " (Xinchuang)"))
        opportunity: Json = {
            "id": opportunity_id,
            "name": name,
            "customer": customer,
            "grade": grade,
            "stage": stage,
            "region": region.name,
            "industry": industry,
            "deal_value": deal_value,
            "win_probability": win_probability,
        }
        if rng.random() < shape.explicit_budget:
            # A budget the sales director approved by hand, above or below what the ratio would give.
            derived = self.budget_ratio[grade] * deal_value * win_probability
            opportunity["presales_budget"] = float(max(500, round(derived * rng.uniform(0.6, 2.0), -2)))
        opportunity["demands"] = demands
        return opportunity

    def _industry(self, region: _Region, grade: str) -> str:
        """The region's industry mix, tilted towards industries someone here could own a deal in."""
        sources = [region.name if kind == "local_office" else kind for kind in self.lead_units[grade]]
        weights = []
        for industry, share in region.industries:
            owners = sum(self.lead_supply.get((where, s), 0) for where in sources for s in INDUSTRY_SKILLS[industry])
            weights.append(share * (0.05 + min(3, owners)))
        return self.rng.choices([i for i, _ in region.industries], weights)[0]

    def _stage(self) -> tuple[str, float, float, float]:
        stage, _, low, high, intensity = self.rng.choices(_STAGES, [s[1] for s in _STAGES])[0]
        return stage, low, high, intensity

    def _window(self, grade: str, intensity: float) -> tuple[int, int]:
        """An opportunity's active window: start week and length, inside the horizon."""
        low, high = GRADE_SHAPES[grade].span
        # The load stretches key deals fully and mid-size deals half as much; small deals stay small.
        load = self.profile.load
        scale = intensity * {"A": load, "B": load, "C": 1 + (load - 1) / 2}.get(grade, 1.0)
        length = round(self.rng.randint(low, high) * scale)
        length = max(1, min(self.weeks, length))
        start = self.rng.randint(0, self.weeks - length)
        return start, length

    def _pick_skills(
        self, choices: Sequence[str], grade: str, region: str, count: int, lead: bool = False
    ) -> list[str]:
        """Distinct skills, favouring those the bench has: a firm pursues the deals it can staff, and a
        deal's main skill is usually one that someone who may own the deal has."""
        pool = list(choices)
        kinds = self.lead_units[grade] if lead else self.tiers[grade]
        supply = self.lead_supply if lead else self.supply
        sources = [region if kind == "local_office" else kind for kind in kinds]
        weights = [0.05 + min(3, sum(supply.get((where, s), 0) for where in sources)) for s in pool]
        picked: list[str] = []
        while pool and len(picked) < count:
            i = self.rng.choices(range(len(pool)), weights)[0]
            picked.append(pool.pop(i))
            weights.pop(i)
        return picked

    def _demands(self, grade: str, industry: str, region: str, intensity: float) -> list[Json]:
        rng = self.rng
        shape = GRADE_SHAPES[grade]
        start, length = self._window(grade, intensity)
        count = rng.choice(shape.demands)
        home = INDUSTRY_SKILLS[industry]
        skills = self._pick_skills(home, grade, region, 1, lead=True)
        extras = [s for s in (*home, *INDUSTRY_PLATFORM[industry], "testing") if s not in skills]
        if grade in "AB":
            extras.append("solution-management")
        skills += self._pick_skills(extras, grade, region, count - 1)
        demands: list[Json] = []
        for k, skill in enumerate(skills):
            # The deal's owner does the main work on site; demos, documents and tests go remote.
            remote = rng.random() < (shape.remote_ok if k else shape.remote_ok / 3)
            hours = rng.choice(shape.hours)
            if k == 0:
                first, last = start, start + length - 1
            elif remote and grade in "CDE":
                # Remote support of a small deal runs alongside it from start to end.
                first, last, hours = start, start + length - 1, max(hours, 8)
            else:
                sub = rng.randint(max(1, (length + 1) // 2), length)
                first = start + rng.randint(0, length - sub)
                last = first + sub - 1
            level = rng.choice(shape.min_level)
            if skill in ("testing", "solution-management"):
                level = min(level, 4)
            demands.append(_demand(skill, skill, level, hours, first, last, rng.choice(shape.headcount), remote))
        return demands

    def _iron_triangle(self, industry: str) -> list[Json]:
        """A key-account A deal: customer-lead expert, solution manager and solution architect, long-planned."""
        rng = self.rng
        length = rng.randint(max(1, self.weeks * 3 // 4), self.weeks)
        start = rng.randint(0, self.weeks - length)
        end = start + length - 1
        architect_from = start + rng.randint(0, max(0, length // 4))
        demands = [
            _demand("customer-lead", INDUSTRY_SKILLS[industry][0], 5, rng.choice((8, 12)), start, end, 1, False),
            _demand("solution-manager", "solution-management", 4, rng.choice((12, 16)), start, end, 1, False),
            _demand(
                "solution-architect",
                rng.choice(INDUSTRY_PLATFORM[industry]),
                4,
                rng.choice((16, 20, 24)),
                architect_from,
                end,
                rng.choice((1, 2, 2)),
                False,
            ),
        ]
        if rng.random() < 0.5:
            poc = rng.randint(2, max(2, length // 3))
            poc_start = rng.randint(start, end - poc + 1)
            demands.append(
                _demand(
                    "poc-testing",
                    "testing",
                    rng.choice((3, 4)),
                    16,
                    poc_start,
                    poc_start + poc - 1,
                    rng.choice((1, 2)),
                    True,
                )
            )
        return demands


def _demand(
    demand_id: str, skill: str, level: int, hours: int, first: int, last: int, headcount: int, remote_ok: bool
) -> Json:
    demand: Json = {
        "id": demand_id,
        "skill": skill,
        "min_level": level,
        "hours_per_week": hours,
        "start_week": first,
        "end_week": last,
    }
    if headcount != 1:
        demand["headcount"] = headcount
    if remote_ok:
        demand["remote_ok"] = True
    return demand


def _round_money(value: float) -> float:
    """Round a deal value to three significant figures, as salespeople quote it."""
    digits = max(0, math.floor(math.log10(value)) - 2)
    return float(round(value / 10**digits) * 10**digits)


# --------------------------------------------------------------------------- impossible work


# How many opportunities a plant may try; keeps XL generation fast.
_SEARCH_LIMIT = 600


class _Impossible:
    """Plants demands that no plan can fill, one kind per unfilled reason, so that every reason shows up.

    Each plant is checked against the rules (H1, H2, H5, H6, H9) on the generated data, so the reason
    is really the one intended and not an earlier one.
    """

    def __init__(self, builder: _Builder, staff: list[Json], opportunities: list[Json]) -> None:
        self.b = builder
        self.staff = staff
        self.opportunities = opportunities
        self.by_skill: dict[str, list[Json]] = {}
        for person in staff:
            for skill in person["skills"]:
                self.by_skill.setdefault(skill, []).append(person)
        self.touched: set[str] = set()

    def inject(self, count: int) -> None:
        candidates = list(self.opportunities)
        self.b.rng.shuffle(candidates)
        candidates = [o for o in candidates if not (self.b.profile.iron_triangle and o["grade"] == "A")]
        for plant in (self._no_qualified_staff, self._no_lead, self._over_budget, self._no_capacity):
            done = 0
            for opportunity in candidates[:_SEARCH_LIMIT]:
                if done == count:
                    break
                if opportunity["id"] not in self.touched and plant(opportunity):
                    self.touched.add(opportunity["id"])
                    done += 1

    def qualified(self, opportunity: Json, demand: Json, ignore_level: bool = False) -> list[Json]:
        tiers = self.b.tiers[opportunity["grade"]]
        excluded = opportunity.get("excluded_staff", [])
        found = []
        for person in self.by_skill.get(demand["skill"], []):
            kind = person["unit"]["kind"]
            if kind not in tiers or person["id"] in excluded:
                continue
            if kind == "local_office" and person["unit"]["region"] != opportunity["region"]:
                continue
            if kind == "hotline" and not demand.get("remote_ok", False):
                continue
            if ignore_level or person["skills"][demand["skill"]] >= demand["min_level"]:
                found.append(person)
        return found

    def leads(self, opportunity: Json) -> list[Json]:
        units = self.b.lead_units[opportunity["grade"]]
        found: dict[str, Json] = {}
        for demand in opportunity["demands"]:
            for person in self.qualified(opportunity, demand):
                if person["can_lead"] and person["unit"]["kind"] in units:
                    found[person["id"]] = person
        return list(found.values())

    def budget(self, opportunity: Json) -> float:
        if "presales_budget" in opportunity:
            return float(opportunity["presales_budget"])
        ratio = self.b.budget_ratio[opportunity["grade"]]
        return float(ratio * opportunity["deal_value"] * opportunity["win_probability"])

    def cost(self, person: Json, opportunity: Json, demand: Json) -> float:
        hours = demand["hours_per_week"] * (demand["end_week"] - demand["start_week"] + 1)
        travels = (
            not demand.get("remote_ok", False)
            and person["unit"]["kind"] != "hotline"
            and person["unit"]["region"] != opportunity["region"]
        )
        return float(hours * person["hourly_rate"] * (1 + self.b.surcharge if travels else 1))

    def lead_cost(self, person: Json, opportunity: Json) -> float:
        demands = opportunity["demands"]
        weeks = max(d["end_week"] for d in demands) - min(d["start_week"] for d in demands) + 1
        return float(self.b.lead_hours * weeks * person["hourly_rate"])

    def _staffable(self, opportunity: Json) -> bool:
        """Every demand has someone qualified, a lead exists, and the cheapest way fits the budget."""
        if not all(self.qualified(opportunity, d) for d in opportunity["demands"]):
            return False
        leads = self.leads(opportunity)
        if not leads:
            return False
        cheapest_lead = min(self.lead_cost(p, opportunity) for p in leads)
        budget = self.budget(opportunity)
        return all(
            min(self.cost(p, opportunity, d) for p in self.qualified(opportunity, d)) + cheapest_lead <= budget
            for d in opportunity["demands"]
        )

    def _no_qualified_staff(self, opportunity: Json) -> bool:
        """A skill level nobody who may serve this deal has (the specialist the region never hired)."""
        for demand in opportunity["demands"]:
            best = max((p["skills"][demand["skill"]] for p in self.qualified(opportunity, demand, True)), default=0)
            if 3 <= best < 5 and len(opportunity["demands"]) > 1:
                demand["min_level"] = best + 1
                return True
        return False

    def _no_lead(self, opportunity: Json) -> bool:
        """Small remote work only the hotline can do, and no local office person to own the deal."""
        if opportunity["grade"] not in "CDE" or "hotline" not in self.b.tiers[opportunity["grade"]]:
            return False
        hotline = [p for p in self.staff if p["unit"]["kind"] == "hotline"]
        local_skills = {
            s
            for p in self.staff
            if p["unit"]["kind"] == "local_office" and p["unit"]["region"] == opportunity["region"]
            for s in p["skills"]
        }
        for person in hotline:
            for skill, level in person["skills"].items():
                if skill in local_skills:
                    continue
                saved = opportunity["demands"]
                demand = dict(saved[0], skill=skill, id=skill, min_level=min(level, 3), remote_ok=True)
                opportunity["demands"] = [demand]
                if self.qualified(opportunity, demand) and not self.leads(opportunity):
                    opportunity.pop("presales_budget", None)
                    if skill in _PROJECTS:
                        opportunity["name"] = self.b.rng.choice(_PROJECTS[skill])
                    return True
                opportunity["demands"] = saved
        return False

    def _over_budget(self, opportunity: Json) -> bool:
        """A rep who booked a token presales budget for work that needs days."""
        if not self._staffable(opportunity):
            return False
        opportunity["presales_budget"] = float(self.b.rng.choice((100, 120, 150)))
        return True

    def _no_capacity(self, opportunity: Json) -> bool:
        """The only people senior enough are on leave in a week the customer wants them."""
        for demand in opportunity["demands"]:
            candidates = self.qualified(opportunity, demand, ignore_level=True)
            best = max((p["skills"][demand["skill"]] for p in candidates), default=0)
            top = [p for p in candidates if p["skills"][demand["skill"]] == best]
            if best < demand["min_level"] or not 1 <= len(top) <= 3:
                continue
            level = demand["min_level"]
            demand["min_level"] = best
            if not self._staffable(opportunity):
                demand["min_level"] = level
                continue
            week = self.b.rng.randint(demand["start_week"], demand["end_week"])
            for person in top:
                hours = person["capacity_hours"]
                if not isinstance(hours, list):
                    hours = [hours] * self.b.weeks
                    person["capacity_hours"] = hours
                hours[week] = 0
            return True
        return False


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.instances",
        description="Write a seeded allocation request: a benchmark size or a market stage.",
    )
    parser.add_argument("kind", choices=[*SIZES, *STAGES], help="S, M, L, XL, or a market stage")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0 for sizes, 7 for stages)")
    parser.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    parser.add_argument("--summary", action="store_true", help="print counts and contention to stderr")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.kind in SIZES:
        request = generate(cast(Size, args.kind), 0 if args.seed is None else args.seed)
    else:
        request = market(cast(Stage, args.kind), 7 if args.seed is None else args.seed)
    elapsed = time.perf_counter() - started
    text = to_json(request)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    if args.summary:
        figures = contention(request)
        demands = sum(len(o["demands"]) for o in request["opportunities"])
        print(
            f"{args.kind}: {len(request['staff'])} staff, {len(request['opportunities'])} opportunities, "
            f"{demands} demands, {request['horizon']['weeks']} weeks; demanded {figures['demanded_hours']:.0f} h "
            f"(+{figures['lead_hours']:.0f} h leads) vs capacity {figures['capacity_hours']:.0f} h = "
            f"{figures['ratio']:.2f}x ({figures['ratio_with_leads']:.2f}x with leads); generated in {elapsed:.2f} s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
