"""The change list (变更清单): what changed in a grid's book since its last print, as the
grid worker acts on it — cards to add at the back, to replace (with the reasons), to take
out, and the tabs and stickers to change by hand (README, "The book of record"; its JSON:
docs/cli.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cardgen.book.numbers import GridNumbers
from cardgen.book.record import Content, Edition, Entry, address_part, format_number
from cardgen.config import Config
from cardgen.data.model import Household
from cardgen.layout.printed import printed_household

# What the worker does with a card, in the order the list gives them for one number.
ADD, INSERT, REPLACE, REMOVE, PENDING = "add", "insert", "replace", "remove", "pending"


@dataclass(frozen=True)
class Change:
    """One line of the change list: a card to add, insert (a household of the book not
    printed before), replace or take out, or a household whose errors hold its card back."""

    action: str
    household_id: str
    number: int
    reasons: tuple[str, ...] = ()
    colour: str = ""  # the new card's colour key
    old_colour: str = ""  # the card's colour in the book, where it changes
    stickers_added: tuple[str, ...] = ()
    stickers_removed: tuple[str, ...] = ()
    moved: str = ""  # the grid it came from (add) or went to (remove)
    since: str = ""  # when a number was retired
    old_flags: tuple[str, ...] = ()  # the stickers on the card in the book
    address: str = ""  # a card taken out: its address and head as the card prints them
    head: str = ""

    @property
    def printed(self) -> bool:
        """A new card is printed for this line."""
        return self.action in (ADD, INSERT, REPLACE)

    @property
    def tab(self) -> str:
        """What happens to the colour tab: a new one (new card or new colour), the old one
        moved to the new card, or nothing."""
        if self.action in (ADD, INSERT) or (self.action == REPLACE and self.old_colour):
            return "new"
        return "move" if self.action == REPLACE else ""


@dataclass
class GridChanges:
    """The change list of one grid's book."""

    group: str
    edition: Edition
    before: int  # households in the book before
    after: int  # households in the book now
    changes: list[Change] = field(default_factory=list)  # by number

    def of(self, *actions: str) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    @property
    def empty(self) -> bool:
        return not any(c.action != PENDING for c in self.changes)

    def as_dict(self) -> dict[str, object]:
        """The JSON form (docs/cli.md, `update --format json`), with where a household
        moved from or to."""
        def item(change: Change, *extra: str) -> dict[str, object]:
            data: dict[str, object] = {"household_id": change.household_id,
                                       "number": format_number(change.number)}
            for name in extra:
                data[name] = list(change.reasons) if name == "reasons" else getattr(change,
                                                                                      name)
            return data

        return {
            "grid": self.group,
            "edition": self.edition.number,
            "added": [item(c) | ({"from": c.moved} if c.moved else {})
                      for c in self.of(ADD)],
            "changed": [item(c, "reasons") for c in self.of(REPLACE, INSERT)],
            "removed": [item(c) | ({"to": c.moved} if c.moved else {})
                        for c in self.of(REMOVE)],
            "pending": [item(c) for c in self.of(PENDING)],
        }


def reasons(old: Entry, new: Content, config: Config) -> tuple[str, ...]:
    """Why a household's card changed, in the book's words (config [book.reasons]): its
    colour, stickers, members, then what else differs."""
    words = config.book.reasons
    found = []
    if old.colour != new.colour:
        found.append(words["colour"].format(old=config.palette[old.colour].char,
                                            new=config.palette[new.colour].char))
    found += [words["sticker_added"].format(flag=f) for f in new.flags if f not in old.flags]
    found += [words["sticker_removed"].format(flag=f) for f in old.flags if f not in new.flags]
    parts = new.parts_for(old)
    differ = {name for name, value in parts.items() if old.parts.get(name) != value}
    if "members" in differ:
        found.append(words["members_count"].format(old=old.members, new=new.members)
                     if old.members != new.members else words["members"])
    if "flags" in differ and old.flags == new.flags:  # the same stickers, other members
        differ.add("people")
    if old.members != new.members:  # someone came or went: the members' details and phones
        differ -= {"people", "phones"}  # differ with them; 成员变动 says it (the card is new)
    for part in ("people", "phones", "address", "housing", "worker"):
        if part in differ:
            found.append(words[part])
    if not found and "category" in differ:
        found.append(words["category"])
    return tuple(found) or (words["other"],)


def compare(grid: GridNumbers, contents: dict[str, Content], printable: set[str],
            config: Config) -> GridChanges:
    """The changes between the grid's book (`grid.previous`) and the register now.

    `contents` has what each household's card would show; households not in `printable`
    have errors: they keep their card (or wait for their first one)."""
    old = grid.previous
    words = config.book.reasons
    before = len(old.entries) if old is not None and not grid.new_edition else 0
    changes = GridChanges(grid.group, grid.edition, before, len(grid.numbers))
    for hid, number in sorted(grid.numbers.items(), key=lambda item: item[1]):
        content = contents[hid]
        was = grid.renumbered.get(hid, hid)  # the 户号 its card shows
        entry = old.entry(was) if old is not None and not grid.new_edition else None
        if entry is not None and entry.number != number:  # its 户号 was another's card
            entry = None
        if hid not in printable:  # its card in the book stays, unless it is right already
            if entry is None or not entry.printed or entry.hash != content.hash_for(entry):
                changes.changes.append(Change(PENDING, hid, number, colour=content.colour))
        elif entry is None:
            moved = grid.moved_in.get(hid, "")
            changes.changes.append(Change(
                ADD, hid, number, (words["moved_in"].format(grid=moved),) if moved else (),
                content.colour, stickers_added=content.flags, moved=moved))
        elif not entry.printed:
            changes.changes.append(Change(INSERT, hid, number, (words["unprinted"],),
                                          content.colour, stickers_added=content.flags))
        elif entry.hash != content.hash_for(entry):
            why = reasons(entry, content, config)
            if old is not None and old.renamed_from and entry.parts.get("address") == \
                    address_part(grid.community, old.renamed_from, content.address):
                renamed = words["grid_renamed"].format(old=old.renamed_from, new=grid.grid)
                why = tuple(renamed if r == words["address"] else r for r in why)
            if was != hid:  # the office gave it a new 户号: that is what changed, and what else
                why = (words["household_id"], *(r for r in why if r != words["other"]))
            changes.changes.append(Change(
                REPLACE, hid, number, why, content.colour,
                entry.colour if entry.colour != content.colour else "",
                tuple(f for f in content.flags if f not in entry.flags),
                tuple(f for f in entry.flags if f not in content.flags),
                old_flags=entry.flags))
    places: dict[str, int] = {}  # who lives at an address now (the first number there)
    for hid, number in sorted(grid.numbers.items(), key=lambda item: -item[1]):
        places[contents[hid].parts["address"]] = number
    arrived = [c for c in changes.changes if c.action == ADD and not c.moved]
    for gone in grid.left:
        moved = grid.moved_out.get(gone.household_id, "")
        card = old.entry(gone.household_id) if old is not None else None
        pulled = [words["moved_out"].format(grid=moved) if moved else config.book.retired]
        there = places.get(card.parts.get("address", "")) if card is not None else None
        if card is not None and not moved:  # the same people on a new card of this grid:
            went = next((c.number for c in arrived if card.parts.get("members") ==  # moved
                         contents[c.household_id].parts_for(card).get("members")), None)
            if went is not None:  # in the grid under a new 户号 (a new address and number)
                pulled = [words["moved_within"].format(number=format_number(went))]
        if there is not None and not moved:  # the card's address is another card's now
            pulled.append(words["same_address"].format(number=format_number(there)))
        changes.changes.append(Change(
            REMOVE, gone.household_id, gone.number, tuple(pulled), moved=moved,
            since=gone.since, old_flags=card.flags if card is not None else (),
            address=card.address if card is not None else "",
            head=card.head if card is not None else ""))
    changes.changes.sort(key=lambda c: c.number)
    return changes


@dataclass(frozen=True)
class Packet:
    """Where things are in a grid's update packet: pages of the new cards by household,
    the cover's page and the index's pages."""

    cards: dict[str, int]
    cover: int
    index: tuple[int, int]


def change_sheet(changes: GridChanges, households: Mapping[str, Household], config: Config,
                 packet: Packet, worker: tuple[str, str], stickers: tuple[str, int] | None,
                 ) -> dict[str, object]:
    """What the change list page shows (templates/changes.html.j2), as plain values."""
    counts = {action: len(changes.of(action)) for action in (ADD, INSERT, REPLACE, REMOVE,
                                                               PENDING)}
    rows = []
    for change in changes.changes:
        household = households.get(change.household_id)
        if change.action == REMOVE:  # the card being pulled, as it is printed (or nothing,
            address, head_name = change.address, change.head  # where the book is older)
        elif household is not None:  # the new card, as it prints (layout/printed.py)
            address = household.full_address
            head_name = printed_household(household, config).head_name
        else:
            address = head_name = ""
        rows.append({
            "number": format_number(change.number), "household_id": change.household_id,
            "action": change.action, "reasons": list(change.reasons),
            "address": address, "head": head_name, "old_stickers": list(change.old_flags),
            "colour": change.colour, "old_colour": change.old_colour, "tab": change.tab,
            "stickers_added": list(change.stickers_added),
            "stickers_removed": list(change.stickers_removed),
            "since": change.since, "page": packet.cards.get(change.household_id, 0),
        })
    first, last = packet.index
    return {
        "group": changes.group, "worker": worker[0], "worker_phone": worker[1],
        "edition": {"number": changes.edition.number, "date": changes.edition.date},
        "before": changes.before, "after": changes.after, "counts": counts, "rows": rows,
        "colours": {key: {"char": c.char, "name": c.name} for key, c in config.palette.items()},
        "packet": {"cover": packet.cover, "index": f"{first}–{last}" if last > first
                   else str(first)},
        "stickers": {"file": stickers[0], "labels": stickers[1]} if stickers else None,
    }
