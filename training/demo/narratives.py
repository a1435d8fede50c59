"""事件简述 as typed at intake: an opening for the channel, the dispute's background, how it developed,
one sentence per escalation cue that is present, sometimes a denied cue ("双方未发生肢体冲突") or a
cue word in a harmless sense, then what the applicant asks for; finally typing noise.

People are named only in the 张某 / 李某某 / 王某甲 style; the same person keeps the same label.
"""

from __future__ import annotations

import random

from training.demo import banks_cues as cb
from training.demo import banks_frame as fb
from training.demo.banks_economic import ECONOMIC, ECONOMIC_SYN
from training.demo.banks_social import SOCIAL, SOCIAL_SYN

MIN_CHARS, MAX_CHARS = 30, 400
SURNAMES = list(
    "张王李赵刘陈杨黄吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
STYLES = ["某"] * 10 + ["某某"] * 7 + ["某甲", "某乙", "某丙"]
ORG_NAMES = {
    "employer": [
        "某电子厂",
        "某服装厂",
        "某纺织有限公司",
        "某机械加工厂",
        "某食品公司",
        "某家具厂",
        "某五金厂",
        "某塑料制品公司",
        "某物流公司",
        "某饭店",
        "某建材公司",
        "某包装厂",
    ],
    "property": ["某物业公司", "某物业服务有限公司", "某物业管理公司", "小区物业"],
    "merchant": [
        "某电器商行",
        "某超市",
        "某汽车4S店",
        "某家具城",
        "某培训机构",
        "某手机店",
        "某装饰公司",
        "某健身房",
        "某美容店",
        "某二手车行",
    ],
    "hospital": ["{town}卫生院", "县人民医院", "某民营医院", "某诊所", "某口腔诊所", "县中医院"],
    "builder": ["某建筑公司", "某建设工程有限公司", "某劳务公司", "某装饰工程公司", "某路桥公司"],
    "insurer": ["某保险公司", "某财产保险公司", "某保险公司分公司"],
    "demolition": ["{town}征收办", "某拆迁公司", "{town}拆迁指挥部", "某房屋征收事务所"],
    "lender": ["某小额贷款公司", "某融资担保公司", "某典当行"],
}
CROWD = {"劳资纠纷": "工人", "建设工程": "农民工", "物业纠纷": "业主", "征地拆迁": "村民", "土地承包": "村民"}
CUE_ORDER = ("alcohol", "threat", "weapon", "physical", "damage", "injury", "self_harm", "separation")
AGGRESSOR_CUES = {"threat", "weapon", "alcohol", "physical", "damage"}
_TYPOS = {
    "的": "地",
    "地": "的",
    "得": "的",
    "在": "再",
    "已": "以",
    "账": "帐",
    "做": "作",
    "那": "哪",
    "到": "倒",
}
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def person_label(index: int) -> str:
    return SURNAMES[(index * 7919) % len(SURNAMES)] + STYLES[(index * 31 // 7) % len(STYLES)]


class _Slots(dict):
    """Case facts by name; any other ``{slot}`` is a synonym list drawn at random."""

    def __init__(self, uniform, syn: dict[str, list[str]], **facts: str) -> None:
        super().__init__(facts)
        self.uniform, self.syn = uniform, syn

    def __missing__(self, key: str) -> str:
        options = self.syn[key]
        return options[int(self.uniform() * len(options))]


class NarrativeWriter:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.uniform = self.rnd.random  # indexing by uniform() is several times faster than choice()
        self.banks = {**SOCIAL, **ECONOMIC}
        self.syn = {**fb.SYN, **cb.CUE_SYN}
        extra = {**SOCIAL_SYN, **ECONOMIC_SYN}
        self.cat_syn = {
            c: {**self.syn, **({"dept": fb.DEPTS[c]} if c in fb.DEPTS else {}), **extra.get(c, {})}
            for c in self.banks
        }

    def _choice(self, options):
        return options[int(self.uniform() * len(options))]

    def _sample(self, options: list[str], k: int) -> list[str]:
        pool = list(options)
        return [pool.pop(int(self.uniform() * len(pool))) for _ in range(min(k, len(pool)))]

    def _fill(self, template: str, slots: _Slots) -> str:
        text = template.format_map(slots)
        return text.format_map(slots) if "{" in text else text  # slots may nest ({kill} -> 弄死{A})

    def org_label(self, kind: str, index: int, town: str, place: str, urban: bool) -> str:
        if kind == "village":
            return place + ("居委会" if urban else "委会")
        names = ORG_NAMES[kind]
        return names[(index * 2654435761) % len(names)].replace("{town}", town)

    def write(
        self,
        *,
        category: str,
        source: str,
        a: str,
        b: str,
        c: str,
        a_org: bool,
        b_org: bool,
        b_male: bool | None,
        place: str,
        town: str,
        date: str,
        amount: str,
        n_people: int,
        group: bool,
        follow_up: bool,
        calls: int,
        mediations: int,
        cues: tuple[str, ...],
        key_group: tuple[str, str] | None,
        neg_rate: float,
        distract_rate: float,
    ) -> tuple[str, int, int]:
        """Returns (narrative, number of denied cues, number of distractors)."""
        # Long on purpose: one narrative is told clause by clause in the order a reader meets them;
        # split into pieces, the order of the sentence would be scattered across functions.
        rnd, bank = self.rnd, self.banks[category]
        org = b if b_org else a if a_org else "对方单位"
        rel = "配偶" if b_male is None else "丈夫" if b_male else "妻子"
        agroup = f"{a}等{n_people - 1}名{CROWD.get(category, '群众')}" if group else a
        slots = _Slots(
            self.uniform,
            self.cat_syn[category],
            A=a,
            B=b,
            C=c,
            org=org,
            rel=rel,
            Agroup=agroup,
            place=place,
            town=town,
            date=date,
            amt=amount,
            topic=self._choice(bank["topic"]),
            calls=str(calls),
            med=str(mediations),
        )
        parts: list[tuple[str, bool]] = []  # (sentence, optional)
        terse, detailed = rnd.random() < 0.15, False
        if terse:
            parts.append((self._fill(self._choice(fb.TERSE), slots), False))
        else:
            opening = self._fill(self._choice(fb.OPENINGS[source]), slots)
            if a_org and "bg_orgA" in bank:
                pool = bank["bg_orgA"]
            elif amount and rnd.random() < 0.6:
                pool = bank["bg_amt"]
            else:
                pool = bank["bg"]
            parts.append((opening + self._fill(self._choice(pool), slots), False))
            detailed = rnd.random() < 0.12  # a careful clerk writes the whole story
            if detailed:
                more = [t for t in bank["bg"] + (bank["bg_amt"] if amount else []) if t not in pool]
                parts.append((self._fill(self._choice(more or bank["bg"]), slots), True))
            n_dev = self._choice((3, 4, 5)) if detailed else self._choice((0, 1, 1, 2, 2, 3))
            if detailed:
                parts.extend(
                    (self._fill(t, slots), True) for t in self._sample(fb.CONTEXT, self._choice((2, 3, 4)))
                )
            for template in self._sample(bank["dev"], n_dev):
                parts.append((self._fill(template, slots), True))
            if follow_up and rnd.random() < 0.7:
                parts.append((self._fill(self._choice(fb.FOLLOW_UP_SENTENCES), slots), True))
        parts.extend((s, False) for s in self._cues(cues, slots, a, b, a_org, b_org))
        if calls > 0 and rnd.random() < 0.55:
            parts.append((self._fill(self._choice(fb.CALL_SENTENCES), slots), True))
        if mediations > 0 and rnd.random() < 0.5:
            parts.append((self._fill(self._choice(fb.MEDIATION_SENTENCES), slots), True))
        denied = self._negations(category, cues, neg_rate, slots)
        parts.extend((s, False) for s in denied)
        distractors = 0
        if rnd.random() < distract_rate:
            options = cb.DISTRACTORS.get(category, []) + (
                [] if category == "婚恋家庭" or a_org else cb.DISTRACTORS["*"]  # "*" speaks of a person
            )
            parts.append((self._fill(self._choice(options), slots), False))
            distractors = 1
        if key_group is not None and rnd.random() < 0.35:
            who, tag = key_group
            parts.append((self._choice(fb.KEY_GROUP_SENTENCES).format(who=who, tag=tag), True))
        if not terse and (detailed or rnd.random() < 0.45):
            parts.append((self._fill(self._choice(bank["ask"]), slots), True))
        if rnd.random() < 0.45:
            parts.append((self._fill(self._choice(fb.CLOSINGS), slots), True))
        while sum(len(s) + 1 for s, _ in parts) < MIN_CHARS + 2:  # noise may take a character or two
            parts.append((self._fill(self._choice(fb.CLOSINGS + bank["ask"]), slots), False))
        while sum(len(s) + 1 for s, _ in parts) > MAX_CHARS and any(opt for _, opt in parts):
            last = max(i for i, (_, opt) in enumerate(parts) if opt)
            parts.pop(last)
        return self._noise(self._join([s for s, _ in parts])), len(denied), distractors

    def _cues(self, cues, slots, a, b, a_org, b_org) -> list[str]:
        """One sentence per present cue; the aggressor is a person (a worker, not the factory)."""
        rnd = self.rnd
        if b_org and a_org:
            aggressor, victim = f"{b}项目负责人", a
        elif b_org:
            aggressor, victim = a, f"{b}负责人"
        elif a_org or rnd.random() < 0.75:
            aggressor, victim = b, a
        else:
            aggressor, victim = a, b
        desperate = b if a_org else a
        out = []
        order = list(CUE_ORDER)
        if rnd.random() < 0.3:
            rnd.shuffle(order)
        for cue in order:
            if cue not in cues:
                continue
            template = self._choice(cb.CUE_SENTENCES[cue])
            if cue in AGGRESSOR_CUES or cue == "injury":
                facts = {"A": victim, "B": aggressor}
            elif cue == "self_harm":
                facts = {"A": desperate, "B": victim}
            else:
                facts = {"A": a, "B": b}
            local = _Slots(self.uniform, slots.syn, **{**slots, **facts})
            out.append(self._fill(template, local))
        return out

    def _negations(self, category: str, cues: tuple[str, ...], rate: float, slots: _Slots) -> list[str]:
        rnd = self.rnd
        if rnd.random() >= rate:
            return []
        banned = set(cues)
        if {"injury", "weapon"} & banned:
            banned.add("physical")  # never deny a fight next to a wound or a weapon
        if category != "婚恋家庭":
            banned.add("separation")
        options = [k for k in cb.NEGATIONS if k not in banned]
        if not options:
            return []
        weights = [cb.NEGATION_WEIGHTS[k] for k in options]
        chosen = rnd.choices(options, weights=weights, k=1 if rnd.random() < 0.7 else 2)
        return [self._fill(self._choice(cb.NEGATIONS[k]), slots) for k in dict.fromkeys(chosen)]

    def _join(self, sentences: list[str]) -> str:
        rnd = self.rnd
        text = sentences[0]
        for s in sentences[1:]:
            text += (
                "，"
                if rnd.random() < 0.3 and not text.endswith(("：", "，"))
                else ""
                if text.endswith(("：", "，"))
                else "。"
            ) + s
        return text + "。"

    def _noise(self, text: str) -> str:
        """Typing habits at intake: half-width punctuation, stray spaces, a slip of the IME."""
        rnd = self.rnd
        r = rnd.random()
        if r < 0.12:
            text = text.replace("，", ",").replace("：", ":")
        elif r < 0.22:
            text = "".join("," if ch == "，" and rnd.random() < 0.5 else ch for ch in text)
        if rnd.random() < 0.06:
            text = text.replace("。", ".").replace("“", '"').replace("”", '"')
        if rnd.random() < 0.05:
            text = text.translate(_FULL)
        if rnd.random() < 0.10:
            for _ in range(rnd.randint(1, 3)):
                i = rnd.randrange(1, len(text))
                text = text[:i] + self._choice((" ", "  ", " ")) + text[i:]
        if rnd.random() < 0.08:
            spots = [i for i, ch in enumerate(text) if ch in _TYPOS]
            if spots:
                i = self._choice(spots)
                text = text[:i] + _TYPOS[text[i]] + text[i + 1 :]
        if rnd.random() < 0.03:
            text = text.replace("。", "。。", 1)
        if rnd.random() < 0.03:
            text = " " + text
        return text
