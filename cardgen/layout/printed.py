"""The household as printed: its members in card order, each ID and flag as it may print,
the household's flags in one order, who holds each and the words a sticker says. Worked
out here, once, for everything that shows a household: the card (layout/cards.py), the
book's record and its hash (book/record.py), the change list (book/changes.py), the
stickers (printing/stickers.py), the index (layout/index.py) and the cover's counts
(book/ledger.py).

- Member order: the head (户主) first, then the register's order. The first member is the
  head that a card, an index row and a change list name (the same as `Household.head`).
- An ID number prints masked (all but its last four characters) unless [privacy] full_id.
- A flag prints as `shown_flag` says: a sensitive one as its category (重点人员, 重点关爱)
  unless [privacy] allows it; a member's flags each once, in the order its cell has them.
- The household's flags (its stickers, the record's flags) are in flag order
  (`flag_order`): the known flags as [flags.aliases] has them, a sticker slot that is no
  known flag at its place among the slots, any other flag after them all, by name.
- A flag of [flags.also] fills its slot: the slot's label names it (三无（特困）, [card.words]
  slot_also), its sticker says the same, and it gets no chip of its own on the card.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cardgen.config import Config
from cardgen.data.flags import shown_flag
from cardgen.data.idnumber import mask_id
from cardgen.data.model import Household, Member


@dataclass(frozen=True, slots=True)
class PrintedMember:
    """One member as the card prints them: the register's values (`member`), the ID and the
    flags as they may print."""

    member: Member
    id_text: str  # masked unless [privacy] full_id; "" without an ID number
    flags: tuple[str, ...]  # as printed, each once, in the order the member's cell has them
    shown: tuple[str, ...]  # how each of `member.flags` prints (the same length)

    @property
    def name(self) -> str:
        return self.member.name


@dataclass(frozen=True, slots=True)
class SlotFill:
    """One of the card's sticker slots: its label (三无（特困） where a flag of
    [flags.also] may fill it) and the members who fill it, in member order."""

    label: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrintedHousehold:
    """A household as everything printed shows it (see the module's docstring)."""

    household: Household
    members: tuple[PrintedMember, ...]  # card order: the head first
    flags: tuple[str, ...]  # every flag a member has, as printed, once, in flag order

    @property
    def head(self) -> PrintedMember | None:
        """The member named as head: the 户主, else the first member; None for a vacant
        dwelling."""
        return self.members[0] if self.members else None

    @property
    def head_name(self) -> str:
        return self.members[0].member.name if self.members else ""

    @property
    def listed_flags(self) -> tuple[str, ...]:
        """Each flag once, in the order the card's members list them (the index's
        特殊情况 column)."""
        return tuple(dict.fromkeys(flag for member in self.members for flag in member.flags))

    def holders(self, skip: frozenset[str] = frozenset()) -> dict[str, tuple[str, ...]]:
        """Each flag as printed and the members who have it (each name once, in member
        order), the flags as the members list them; flags in `skip` (as the register
        writes them) left out."""
        found: dict[str, list[str]] = {}
        for printed in self.members:
            name = printed.member.name
            for flag, shown in zip(printed.member.flags, printed.shown, strict=True):
                if flag in skip:
                    continue
                names = found.setdefault(shown, [])
                if name not in names:
                    names.append(name)
        return {flag: tuple(names) for flag, names in found.items()}


def flag_order(config: Config) -> dict[str, int]:
    """Each flag's place in flag order (see the module's docstring; `ranked` puts a flag
    not in it after them all). Kept for the last config asked about: a run has one, and
    working it out per household cost as much as the rest of the view (measured)."""
    global _last_order
    if _last_order[0] is not config:
        _last_order = (config, {flag: index for index, flag in enumerate(
            (*config.flags.sticker_slots, *config.flags.known))})
    return _last_order[1]


_last_order: tuple[Config | None, dict[str, int]] = (None, {})


def ranked(flags: Iterable[str], order: dict[str, int]) -> tuple[str, ...]:
    """`flags` in flag order (`order`: `flag_order`'s), each once; a flag not in the order
    after the others, by name."""
    return tuple(sorted(set(flags), key=lambda f: (order.get(f, len(order)), f)))


def printed_member(member: Member, config: Config) -> PrintedMember:
    """One member with the ID and flags as they may print."""
    id_text = ""
    if member.id_number:
        id_text = member.id_number if config.privacy.full_id else mask_id(member.id_number)
    if not member.flags:  # most members have none: the short way
        return PrintedMember(member, id_text, (), ())
    shown = tuple([shown_flag(flag, config) for flag in member.flags])
    return PrintedMember(member, id_text, tuple(dict.fromkeys(shown)), shown)


def card_order(members: Iterable[Member]) -> list[Member]:
    """Members as a card lists them: the head first, then the register's order."""
    listed = list(members)
    if not any(member.is_head for member in listed[1:]):  # as most registers have them
        return listed
    return sorted(listed, key=lambda m: not m.is_head)


def printed_household(household: Household, config: Config) -> PrintedHousehold:
    """The household as it prints."""
    members = tuple([printed_member(m, config) for m in card_order(household.members)])
    flags: tuple[str, ...] = ()
    if any(m.flags for m in members):
        flags = ranked([flag for m in members for flag in m.flags], flag_order(config))
    return PrintedHousehold(household, members, flags)


def sticker_word(flag: str, config: Config) -> str:
    """What a flag's own sticker says: the flag, or, for a flag of [flags.also], its slot
    with it (三无（特困）)."""
    for slot in reversed(config.flags.sticker_slots):
        if flag in config.flags.also.get(slot, ()):
            return config.card.words.format("slot_also", flag=slot, also=flag)
    return flag


def slot_fills(printed: PrintedHousehold, config: Config) -> tuple[SlotFill, ...]:
    """The card's sticker slots, in [flags] sticker_slots order: each slot's label and the
    members who fill it (those with the slot's flag, then those with a flag of
    [flags.also] for it)."""
    words = config.card.words
    fills = []
    for slot in config.flags.sticker_slots:
        also = set(config.flags.also.get(slot, ()))
        direct = [m.name for m in printed.members if slot in m.member.flags]
        via = [m.name for m in printed.members
               if slot not in m.member.flags and also & set(m.member.flags)]
        label = slot
        if any(also & set(m.member.flags) for m in printed.members):
            label = words.format("slot_also", flag=slot, also=words["separator"].join(
                config.flags.also.get(slot, ())))
        fills.append(SlotFill(label, (*direct, *via)))
    return tuple(fills)


def chips(printed: PrintedHousehold, config: Config) -> dict[str, tuple[str, ...]]:
    """The card's chips: each flag that fills no slot and its holders, in flag order. A
    flag is said once: one that fills a slot (特困 in 三无's) gets no chip (issue 24)."""
    in_slots = {*config.flags.sticker_slots, *(flag for slot in config.flags.sticker_slots
                                          for flag in config.flags.also.get(slot, ()))}
    holders = printed.holders(frozenset(in_slots))
    return {flag: holders[flag] for flag in ranked(holders, flag_order(config))}
