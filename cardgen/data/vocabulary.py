"""The fixed label tables: GB/T 4761 relation codes, the 56 ethnic groups, card wording; and
how a written value is looked up among the spellings of the config."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cardgen.i18n import N_, _
from cardgen.text import fold

if TYPE_CHECKING:
    from cardgen.config import Config

# (text, compiled by `re` when first used: see validate.py)
_BRACKETED = r"[(\[【〔][^)\]】〕]*[)\]】〕]"


def spelled(text: str, spellings: dict[str, str]) -> str | None:
    """The value a written text means among `spellings` (folded spelling -> value): the
    text folded (NFKC, no spaces, lower case), else the same without a bracketed note
    (自住房（商品房） is 自住房), or None."""
    key = fold(text)
    found = spellings.get(key)
    if found is None and ("(" in key or "[" in key or "【" in key or "〔" in key):
        found = spellings.get(re.sub(_BRACKETED, "", key))
    return found


# GB/T 4761-2008 家庭关系代码 (the codes registers export instead of words).
RELATION_CODES = {
    "01": "本人", "02": "户主", "10": "配偶", "11": "夫", "12": "妻",
    "20": "子", "21": "独生子", "22": "长子", "23": "次子", "24": "三子", "25": "四子",
    "26": "五子", "27": "养子或继子", "28": "女婿", "29": "其他儿子",
    "30": "女", "31": "独生女", "32": "长女", "33": "二女", "34": "三女", "35": "四女",
    "36": "五女", "37": "养女或继女", "38": "儿媳", "39": "其他女儿",
    "40": "孙子、孙女或外孙子、外孙女", "41": "孙子", "42": "孙女", "43": "外孙子",
    "44": "外孙女", "45": "孙媳妇或外孙媳妇", "46": "孙女婿或外孙女婿", "47": "曾孙子或外曾孙子",
    "48": "曾孙女或外曾孙女", "49": "其他孙子、孙女或外孙子、外孙女",
    "50": "父母", "51": "父亲", "52": "母亲", "53": "公公", "54": "婆婆", "55": "岳父",
    "56": "岳母", "57": "继父或养父", "58": "继母或养母", "59": "其他父母关系",
    "60": "祖父母或外祖父母", "61": "祖父", "62": "祖母", "63": "外祖父", "64": "外祖母",
    "65": "配偶的祖父母或外祖父母", "66": "曾祖父", "67": "曾祖母",
    "68": "配偶的曾祖父母或外曾祖父母", "69": "其他祖父母或外祖父母关系",
    "70": "兄弟姐妹", "71": "兄", "72": "嫂", "73": "弟", "74": "弟媳", "75": "姐姐",
    "76": "姐夫", "77": "妹妹", "78": "妹夫", "79": "其他兄弟姐妹",
    "80": "其他", "81": "伯父", "82": "伯母", "83": "叔父", "84": "婶母", "85": "舅父",
    "86": "舅母", "87": "姨父", "88": "姨母", "89": "姑父", "90": "姑母",
    "91": "堂兄弟、堂姐妹", "92": "表兄弟、表姐妹", "93": "侄子", "94": "侄女", "95": "外甥",
    "96": "外甥女", "97": "其他亲属", "99": "非亲属",
}
RELATION_WORDS = frozenset(RELATION_CODES.values())
HEAD_RELATIONS = frozenset({"户主", "本人"})
HEAD_LABEL = "户主"

ETHNIC_GROUPS = frozenset((
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族",
    "土族", "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族",
    "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族",
    "保安族", "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族",
    "基诺族",
))

YES_SPELLINGS = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓", "✔"})
NO_SPELLINGS = frozenset({"否", "无", "没有", "n", "no", "false", "0", "×", "-"})

# What the colour rules say when they explain a colour (categorise stage).
REASON_EXPLICIT = "户卡颜色列指定"
REASON_DEFAULT = "无特殊情况"
REASON_HOUSING = "房屋{housing}"
REASON_NO_RESIDENTS = "无人居住"
REASON_ALL_AGED = "全员{age}岁以上"
REASON_ALL_RESIDENCE = "全员{residence}"


def relation_of(text: str, config: Config) -> tuple[str, bool]:
    """与户主关系 as the card prints it, and whether cardgen knows it: a spelling of the
    config's [relation], a GB/T 4761 word or code (02 = 户主); the head prints as 户主."""
    written = text.strip()
    if written.isascii() and written.isdigit():
        word = RELATION_CODES.get(written.zfill(2))
        if word is None:
            return written, False
        written = word
    known = spelled(written, config.spellings.relation)
    if known is None and written in RELATION_WORDS:
        known = written
    if known in HEAD_RELATIONS:
        known = HEAD_LABEL
    return (known, True) if known is not None else (written, False)


# The fields as messages name them (the columns' usual headers in Chinese).
FIELD_NAMES = {
    "household_id": N_("household number"), "community": N_("community"), "grid": N_("grid"),
    "grid_worker": N_("grid worker"), "grid_worker_phone": N_("grid worker's phone"),
    "address": N_("address"), "estate": N_("estate"), "building": N_("building"),
    "unit": N_("unit"), "room": N_("room"), "housing": N_("housing"),
    "multiple_homes": N_("several homes"), "moves_often": N_("moves often"),
    "plan": N_("plan to let or sell"), "owner": N_("owner"), "owner_phone": N_("owner's phone"),
    "colour": N_("card colour"), "cadre": N_("cadre in charge"),
    "cadre_phone": N_("cadre's phone"), "name": N_("name"), "relation": N_("relation to the head"),
    "sex": N_("sex"), "ethnicity": N_("ethnic group"), "birth_date": N_("birth date"),
    "id_number": N_("ID number"), "phone": N_("phone"),
    "landline": N_("second phone"), "residence": N_("residence"),
    "flags": N_("flags"), "notes": N_("notes"),
}


def field_name(field: str) -> str:
    """A field as a message names it, in the current language."""
    return _(FIELD_NAMES[field]) if field in FIELD_NAMES else field
