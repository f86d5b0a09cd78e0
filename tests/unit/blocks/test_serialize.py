"""bot/blocks/serialize.py `block_dict` stands in for slack_sdk's `to_dict()` on every message the
app renders: for each kind of Block Kit object it must give the very same dict, and refuse what
slack_sdk's validators refuse."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    ImageElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    OptionGroup,
    OverflowMenuElement,
    PlainTextInputElement,
    PlainTextObject,
    RichTextBlock,
    RichTextSectionElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.serialize import block_dict

CONFIRM = ConfirmObject(title="Stop it?", text="The call ends.", confirm="Stop", deny="Keep", style="danger")
OPTIONS = [Option(value=f"v{i}", label=f"Option {i}", description="what it does") for i in range(3)]

OBJECTS: dict[str, JsonObject] = {
    "header": HeaderBlock(text=PlainTextObject(text="voice-bot · :red_circle: HTTP error", emoji=True)),
    "section, fields and a button with a confirm": SectionBlock(
        text=MarkdownTextObject(text="*Status*\nended", verbatim=True),
        fields=[MarkdownTextObject(text=f"*F{i}*\nvalue") for i in range(4)],
        accessory=ButtonElement(text="Stop session", action_id="stop", value="x", style="danger", confirm=CONFIRM),
    ),
    "section with an empty field list (left out)": SectionBlock(text="plain", fields=[]),
    "actions: buttons, a select of groups, an overflow": ActionsBlock(
        block_id="session-actions",
        elements=[
            ButtonElement(text="Refresh", action_id="refresh", value="a|b"),
            ButtonElement(text="Docs", action_id="docs", url="https://docs.pipecat.ai"),
            StaticSelectElement(
                action_id="mute-for",
                placeholder="Mute for…",
                option_groups=[
                    OptionGroup(label="Short", options=OPTIONS[:2]),
                    OptionGroup(label="Long", options=OPTIONS[2:]),
                ],
            ),
            OverflowMenuElement(action_id="more", options=OPTIONS),
        ],
    ),
    "select with initial option": StaticSelectElement(action_id="s", options=OPTIONS, initial_option=OPTIONS[1]),
    "context: image and text": ContextBlock(
        elements=[ImageElement(image_url="https://example.com/x.png", alt_text="x"), MarkdownTextObject(text="`id`")]
    ),
    "divider": DividerBlock(),
    "input": InputBlock(
        label="Why", element=PlainTextInputElement(action_id="why", multiline=True, max_length=500), optional=True
    ),
    "rich text with an empty section (Slack allows it)": RichTextBlock(elements=[RichTextSectionElement(elements=[])]),
    "a Home view": View(type="home", blocks=[HeaderBlock(text="pipecat-ops"), SectionBlock(text="all quiet")]),
}


@pytest.mark.parametrize("name", list(OBJECTS))
def test_the_same_dict_as_slack_sdk(name: str) -> None:
    obj = OBJECTS[name]
    assert block_dict(obj) == obj.to_dict()


@pytest.mark.parametrize(
    "invalid",
    [
        HeaderBlock(text="x" * 151),  # Slack's header limit
        SectionBlock(text=MarkdownTextObject(text="x" * 3001)),
        ActionsBlock(elements=[ButtonElement(text="b", action_id=f"a{i}") for i in range(26)]),
        SectionBlock(accessory=ButtonElement(text="b" * 80, action_id="a")),  # nested: a button label
    ],
    ids=["header too long", "section too long", "too many buttons", "nested button too long"],
)
def test_what_slack_sdk_refuses_is_refused(invalid: JsonObject) -> None:
    with pytest.raises(SlackObjectFormationError):
        invalid.to_dict()
    with pytest.raises(SlackObjectFormationError):
        block_dict(invalid)
