"""The escalation-cue lexicon: regular-expression sources per cue family, negators, scope rules.

Data only (compiled and applied in ``features/cues.py``). Patterns run on ``normalise_text``
output: half-width ASCII punctuation, no whitespace, Latin lower-cased. They are written for how
intake staff, police and courts actually word things, and several carry look-arounds where a
plain word has a common harmless sense in civil texts (钢管 leased on a building site, 拉扯孩子
"raising a child", 动手术 "surgery", 一脚油门 "stepping on the gas", 第三者责任险 "insurance").
"""

from __future__ import annotations

from typing import Final

CUE_FAMILIES: Final[tuple[str, ...]] = (
    "threat",
    "weapon",
    "alcohol",
    "physical",
    "injury",
    "self_harm",
    "separation",
    "property_damage",
    "grudge",
    "police",
)
CUE_LABELS: Final[dict[str, str]] = {
    "threat": "言语威胁",
    "weapon": "涉及凶器",
    "alcohol": "饮酒",
    "physical": "肢体冲突",
    "injury": "有人受伤",
    "self_harm": "自伤自杀倾向",
    "separation": "分居离婚",
    "property_damage": "毁坏财物",
    "grudge": "积怨报复",
    "police": "曾报警",
}

_HAN: Final = r"[\u4e00-\u9fff]"
# who a threat is aimed at: pronouns, 对方, pseudonymised names (张某, 李某1)
_TARGET: Final = rf"(?:你们|他们|她们|你家|他家|她家|全家|对方|你|他|她|其|{_HAN}某[\d某]?)"
# harm verbs of a threat; 砍/杀 exclude felling trees and slaughtering animals
_HARM: Final = (
    r"(?:杀(?!价|猪|鸡|羊|鱼|毒|菌)|砍(?!树|伐|柴|竹|掉|倒)|捅(?!破|娄)|弄死|打死|整死|搞死|砍死|捅死|"
    r"掐死|打伤|砍伤|捅伤|打断|打残|弄残|废了|宰了|灭了|炸了|烧了|烧死|放火|点火|报复|同归于尽|拿刀|动刀)"
)
_MODAL: Final = r"(?:要|会|想|准备|打算|迟早|早晚|一定|非得|非要|定要|必须)"
_MODAL_HARM: Final = rf"{_MODAL}(?:把|将|给)?{_TARGET}?(?:给)?{_HARM}"
_DIRECT_THREAT: Final = r"(?:杀|弄死|砍死|捅死|打死|整死|搞死|宰|废|弄残|打残|烧死)了?(?:你|你们|你全家)"
_THREAT_VERB: Final = r"(?:扬言|(?<!构成)威胁|恐吓|恫吓|要挟|叫嚣|放狠话|放话|扬称)"
# picking up an object (so that it is used as a weapon); 用 not in 使用/租用/费用 ...
_GRAB: Final = (
    r"(?:持|拿|掏|拔|抽|抄|举|挥|握|拎|提|抓|捡|拾|扛|搬|操|携带?)"
    r"(?:起|出|着|了|来|有)?(?:一把|一根|一块|一个|一瓶|一桶|一壶|一罐|一袋|一只|把|根|块|个|瓶|桶|壶|罐|袋|只)?"
    rf"(?:{_HAN}{{0,3}}的)?"  # 操起家中的斧头
)
# objects that are weapons only when grabbed or swung (钢管, 石头, 汽油 are common in civil texts)
_OBJECT_WEAPON: Final = (
    r"(?:钢管|铁管|钢筋|铁锤|锤子|榔头|扳手|螺丝刀|改锥|扁担|棍子|木条|木板|砖头|砖块|板砖|石头|石块|"
    r"酒瓶|啤酒瓶|玻璃瓶|瓶子|玻璃杯|杯子|烟灰缸|板凳|凳子|木凳|塑料凳|马扎|椅子|镐把|铁锹|铁铲|铁锨|锄头|镐|钉耙|叉子|镰刀|斧头|斧子|剪刀|"
    r"汽油|农药|百草枯|敌敌畏|老鼠药|硫酸(?!氨|亚|铁|镁|铜|锌|钠|钾|钡|钙|盐|锰)|开水|热水|辣椒水)"
)
_STRIKE: Final = r"(?:砸|击|敲|抡|捅|刺|砍|戳|扎|泼|浇|扔|掷|殴打|打伤|打在|打向)"

FAMILY_PATTERNS: Final[dict[str, tuple[str, ...]]] = {
    "threat": (
        # a threat verb swallows the threat it introduces: "扬言要砍死他" is one mention
        rf"{_THREAT_VERB}(?:{_TARGET}|称|说|道|[:\"'])*(?:我|老子)?(?:{_MODAL_HARM}|{_DIRECT_THREAT})?",
        r"同归于尽|鱼死网破|不得好死|走着瞧|等着瞧|你等着|饶不了|不会放过|绝不放过",
        rf"跟{_TARGET}(?:没完(?!没了)|拼了|拼命)|杀你全家|灭你全家|血洗",
        rf"(?:让|要|叫|给){_TARGET}?\"?好看|收拾{_TARGET}|(?:你|你们|你家里人|家里人|他|她)小心点|找人(?:来)?(?:收拾|废了|教训|弄死|砍|打)",
        rf"卸{_TARGET}?(?:一条|条)?(?:腿|胳膊)",
        r"要(?:了)?(?:你|他|她|其|你们|他们)的?(?:狗)?命",
        _MODAL_HARM,
        _DIRECT_THREAT,
    ),
    "weapon": (
        r"(?:菜|水果|砍|尖|剔骨|西瓜|折叠|弹簧|杀猪|屠宰|斩骨|砍骨|管制|单刃|双刃|柴|铡|长|短|美工|弯)刀",
        r"刀具|刀械|刀子|匕首|凶器|持械|械斗|管制器具|锐器|钝器|尖锐物",
        r"(?:持|拿|掏|拔|抽|抄|举|挥|握|拎|携|带|操)(?:起|出|着|了|来|有)?(?:一把|把|一柄)?刀",
        r"动刀|用刀|挥刀|刀砍|刀捅|刀刺|刀扎",
        r"棍棒|木棒|木棍|铁棍|铁棒|警棍|甩棍|伸缩棍|棒球棍|双节棍",
        r"枪支|手枪|猎枪|气枪|火药枪|仿真枪|土枪|霰弹枪|开枪|弹弓|弓弩|炸药|雷管|爆炸物|燃烧瓶",
        r"毒鼠强|老鼠药|鼠药|投毒|下毒|投放(?:危险物质|农药|毒)",
        rf"{_GRAB}{_OBJECT_WEAPON}",
        rf"{_OBJECT_WEAPON}(?:朝|向|往|对着)?{_HAN}{{0,4}}?{_STRIKE}",
        rf"{_OBJECT_WEAPON}{_HAN}{{0,8}}?(?:对峙|挥舞|比划|比画|追赶)",
        # 用 + object only when a blow follows: 用砖头砌墙 and 用钢筋网封闭 are building work
        rf"(?<![使租借采选费作利应雇占试引享运适服])用{_OBJECT_WEAPON}(?={_HAN}{{0,2}}(?:将|把|朝|向|往|对|猛|打|{_STRIKE}))",
        r"(?:泼|浇)(?:了|上)?(?:一瓶|一桶|一盆)?(?:汽油|硫酸|强酸|开水|热水|辣椒水)",
    ),
    "alcohol": (
        r"饮酒|酒后|醉酒|酗酒|喝醉|醉醺醺|酒醉|借酒|喝多了|酒劲|酒气|酩酊|劝酒|敬酒|拼酒|斗酒|陪酒|酒驾|醉驾",
        r"喝(?:了)?(?:点|些|很多|不少|大量|一瓶|几瓶|半斤|一斤|几杯|喜)?(?:白酒|啤酒|酒)",
        r"饮用(?:了)?(?:白酒|啤酒|酒)",
    ),
    "physical": (
        r"殴打|毒打|暴打|痛打|围殴|群殴|互殴|斗殴|厮打|撕打|扭打|抓扯|揪扯|撕扯|揪打|踢打|追打|抽打|(?<!点)击打|锤打",
        r"拉扯(?!孩子|大|长大|儿|女|子女)|推搡|推倒在地|推倒(?:他|她|其|对方)|推了(?:他|她|其|对方)?(?:一把|一下)",
        r"拳打脚踢|大打出手|打架|打起来|打了起来|打斗|打伤|打死|打残|打人|打骂|打倒",
        r"打成(?=轻|重|骨|伤|残)|打破(?:头|脑袋|嘴|鼻|眼)|打断了?(?:腿|胳膊|手|肋骨|鼻梁|骨|其|他|她)",
        rf"打了{_TARGET}?(?:一拳|一巴掌|一顿|几下|一下|两拳|几拳|一耳光)|打了{_TARGET}(?!{_HAN}{{0,3}}电话)",
        rf"被(?:对方|他|她|其|人|{_HAN}某\d?)?打(?:了|成|伤|得|倒|骂)",
        r"揍|挥拳|(?:一|几|数|两)拳|(?:几|数)脚|一脚(?!油门|刹车)|踹(?!门|开)|踢(?:了|中|伤|倒|向|其|他|她|对方)",
        rf"(?:扇|打|抽)(?:了)?{_TARGET}?(?:一个|几个|两个)?(?:耳光|巴掌|嘴巴)|掌掴",
        r"掐(?:住|脖|其|他|她|死)|勒(?:住|死|颈|脖)",
        rf"(?:朝|向|往|对着){_HAN}{{0,6}}?(?:头|脸|面|背|腿|胸|腹|腰)(?:部|上)?(?:猛)?(?:打|砸|砍|捅|刺|踢|击|戳|扎)",
        r"砍(?:伤|死|杀|向|中|击|人|他|她|其|对方)|砍了(?:他|她|其|对方|一刀|几刀|数刀)|乱砍|连砍",
        r"捅(?:伤|死|刺|向|中|入|了|人|其|他|她)|刺(?:伤|死|中|向|入)|扎(?:伤|死|向|中|入)|(?:一|数|几)刀(?!切|两断)",
        r"肢体冲突|肢体接触|动手(?!术|脚)|动起手|动了手|动粗|施暴|家暴|行凶|杀人|杀害",
        r"(?<!冷)(?<!语言)(?<!精神)(?<!网络)暴力|(?<!出口)(?<!受)伤人(?!感情|心|自尊)",
    ),
    "injury": (
        r"受伤|受了(?:点)?伤|负伤|伤势|伤情|伤口|(?<!减)轻伤|重伤|轻微伤|骨折|外伤|撕裂伤|脑震荡",
        r"流血|流了血|头破血流|鼻青脸肿|验伤|鲜血|血流|满脸是血|浑身是血|血迹|淤青|淤血|瘀青|瘀血|红肿|挫伤|擦伤",
        r"划伤|割伤|砍伤|刺伤|捅伤|打伤|咬伤|抓伤|砸伤|烫伤|烧伤|缝了?\d*针|不省人事",
        r"住院|送医|送往医院|送至医院|送到医院|送进医院|就医|救治|抢救",
        r"伤残|致残|损伤程度|伤害程度",
        rf"致(?:其|人|被害人|对方|{_HAN}某\d?)?(?:死亡|身亡)|当场死亡|不治身亡|身亡",
    ),
    "self_harm": (
        r"轻生|自杀|自尽|自缢|上吊|寻死|寻短见|跳楼(?!价|大甩卖)|跳河|跳江|跳湖|跳井|跳桥|卧轨|割腕|割脉|自残|自伤|撞墙",
        r"喝了?(?:农药|敌敌畏|百草枯|老鼠药)|服(?:下|用)?(?:农药|毒|安眠药|老鼠药|鼠药)|吃了?(?:大量|一瓶)?安眠药",
        r"以死相逼|以死(?:相)?威胁|不想活|活不下去|死给你看|一死了之",
        rf"(?:楼顶|天台|楼上|桥上|桥栏杆|塔吊|屋顶|顶楼|脚手架|高处){_HAN}{{0,2}}?跳(?:下|楼)",
    ),
    "separation": (
        r"分居|离婚(?!多年|已久)|离异|离家出走|回了?娘家|搬出去住|分开住|分开居住|分手|感情破裂|感情不和|感情淡漠|婚外情|出轨|第三者(?!责任|险)|外遇|小三",
        r"断绝(?:恋爱|同居|来往)?关系|解除(?:婚约|同居关系|恋爱关系)|退婚|悔婚|冷战",
    ),
    "property_damage": (
        r"打砸|砸抢|砸(?:坏|毁|烂|碎|破|掉)|砸了(?!他|她|其|对方)|砸(?:车|门|窗|玻璃|店|东西|家具|锁)",
        r"毁坏|损毁|故意损坏|损坏(?:了)?(?:财物|物品|车辆|门窗|家具)|纵火|放火|点火烧|烧(?:毁|坏|掉)",
        rf"烧了{_HAN}{{0,3}}?(?:房|车|屋|家|柴|草垛|庄稼)|泼(?:油漆|粪|粪水|大粪|汽油)",
        rf"划(?:破|坏|伤|花)了?{_HAN}{{0,4}}?(?:车|轮胎)|划了?{_TARGET}的车|扎(?:破|坏)了?{_HAN}{{0,4}}?轮胎",
        rf"(?:砍|锯|毁|挖|拔|铲)(?:了|掉|断|倒|光){{0,2}}{_HAN}{{0,5}}?(?:树|庄稼|青苗|苗|果树|竹子|菜地|菜园|蔬菜|玉米|小麦|麦子|水稻|花生)",
        rf"推倒{_HAN}{{0,2}}?(?:墙|门|围栏|栅栏)|(?:墙|门|围栏|栅栏)推倒",
        rf"拆(?:毁|了|掉){_HAN}{{0,2}}?(?:墙|围栏|栅栏|房)|强拆",
    ),
    "grudge": (
        r"积怨|宿怨|怨恨|怀恨|记恨|结怨|结仇|仇恨|仇视|有仇|旧怨|新仇旧恨|报复|泄愤|耿耿于怀",
        r"心生不满|心怀不满|矛盾(?:激化|升级|加深|尖锐|由来已久|已久|较深|很深|不断)",
        r"长期(?:不和|矛盾|纠纷|不睦)|(?:多次|屡次|反复|经常|多年)(?:发生)?(?:争吵|口角|纠纷|冲突|矛盾|吵架|吵闹)",
    ),
    "police": (r"报警|报案|(?<!\d)110(?!\d)|出警|民警|派出所|警察|警方",),
}

# Threat wording contains harm verbs ("要砍死他"): those are not a physical fight, an injury or
# damage that happened, so matches of these families that overlap a threat match are dropped.
SUPPRESSED_BY_THREAT: Final[frozenset[str]] = frozenset({"physical", "injury", "property_damage"})

# A mention in a sentence that also tells of a harmless setting is not counted, unless that
# sentence tells of violence too (a counted physical or weapon mention). Injury: accidents, falls,
# dog bites and illness (受伤后病情加重) are not conflict injuries. Weapon: 菜刀 bought, sold,
# sharpened or used for cooking, a 锄头 used for farm work.
BENIGN_CONTEXT: Final[dict[str, str]] = {
    "injury": (
        r"交通事故|事故|车祸|相撞|碰撞|撞(?:倒|伤|到|上)|被车|摔倒|摔伤|摔下|跌倒|跌落|滑倒|坠落|掉落|倒塌|"
        r"被狗|犬|咬伤|触电|溺水|落水|工伤|意外|施工|作业|"
        r"手术|术后|清创|感染|病情|并发症|就诊|诊断|误诊|病"
    ),
    "weapon": (
        r"购买|买的|买了|网购|商品|出售|售卖|销售|卖|退换|退货|质量|崩口|套装|五金店|超市|"
        r"切菜|做饭|厨房|磨刀|磨菜刀|工具由|农具|喷洒|施肥|打药|挖沟|种地|锄地|干活"
    ),
}

# Negators, longest first. Look-aheads drop words that merely start with one (未成年, 未果, 无故,
# 无业, 没收, 抢救无效 ...), which must not negate a following cue.
NEGATOR: Final = (
    r"并未|未曾|未发生|未见|未有|未构成|未达到|不曾|不存在|不构成|否认|并没有|并无|均无|均未|毫无|"
    r"不会(?!放过|善罢甘休|饶)|不再|不想(?!活)|不愿|不敢|不准|不许|不要(?!逼|命|脸|以为)|"
    r"不得(?!好死|不|已)|禁止|严禁|避免|防止|以免|以防|杜绝|"
    r"没有(?!想到|料到|办法|工作|收入|固定|钱|多久|过多久)|"
    r"没(?!收|想到|料到|办法|完|多久|过多久|过几|几|一会|事|钱|用|了)|"
    r"未(?!成年|果|婚|满|来|经|知|必|遂|尝|免|予|几|久)|"
    r"无(?!业|故|端|缘无故|奈|法|论|视|辜|理|所|效|证|照|牌|力|意|心|需|须|数|限|关|息|偿|期|罪|"
    r"异议|果|能|聊|赖|礼|耻|知|主|名|处|家可归|时无刻|恶|常|度|节制|事生非|疑|比|不|措|情|德|良)"
)
# Words that end a negator's reach inside a clause: "没钱还就拿刀砍人" is not a negated 拿刀.
SCOPE_BREAKER: Final = r"但|却|而|并|遂|便|就|竟|还|又|后|结果|导致|致使|于是|随即|接着|反而|甚至|并且|可是|不过|只是|仍|依然|继续|因此|所以"
# Clause boundary: any punctuation; a '.' between two digits is a decimal point, not a boundary.
CLAUSE_BOUNDARY: Final = r"[,;:!?()\[\]{}<>\"'~]|\.(?!\d)|\.(?<!\d\.)"
SENTENCE_BOUNDARY: Final = r"[;!?]|\.(?!\d)|\.(?<!\d\.)"
# A negator reaches at most this many characters ahead (未发生任何形式的肢体冲突 = 5 between).
NEGATION_MAX_GAP: Final = 10
