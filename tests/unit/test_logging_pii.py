"""PII masking (hotline.privacy.masking) in every format citizens write, and in log records.

ID numbers here carry valid GB 11643 check digits and card numbers valid Luhn digits: masking validates
them, so an invalid one is an ordinary number.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.logging_setup import PiiMaskingFormatter, mask_pii
from hotline.privacy import mask_pii as privacy_mask_pii


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        # mobile numbers
        ("我的电话13912345678", "我的电话139****5678"),
        ("电话 138 1234 5678", "电话 138 **** 5678"),
        ("电话138-1234-5678。", "电话138-****-5678。"),
        ("+8613812345678", "+86138****5678"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("0086-13812345678", "0086-138****5678"),
        ("(+86)13812345678", "(+86)138****5678"),
        ("打１３８１２３４５６７８找我", "打１３８****５６７８找我"),  # full-width digits from a Chinese IME
        ("１３８　１２３４　５６７８", "１３８　****　５６７８"),  # full-width digits and spaces
        # landlines with an area code
        ("座机0550-3028148", "座机0550-***8148"),
        ("(021) 6123 4567", "(021) **** 4567"),
        ("（０５５０）３０２８１４８", "（０５５０）***８１４８"),
        ("01061234567", "010****4567"),
        # resident ID numbers (18 digits, X check digit, spaced; 15 digits)
        ("身份证34112219800101122X", "身份证341122********122X"),
        ("身份证341122198001011238号", "身份证341122********1238号"),
        ("身份证 341122 19800101 1238", "身份证 341122 ******** 1238"),
        ("身份证３４１１２２１９８００１０１１２３８", "身份证３４１１２２********１２３８"),
        ("老身份证341122800101123", "老身份证341122******123"),
        # bank cards (Luhn), plain, spaced, dashed
        ("银行卡6222021234567890128", "银行卡6222****0128"),
        ("卡号 6222 0212 3456 7890 128", "卡号 6222****0128"),
        ("卡号6222-0212-3456-7890-128", "卡号6222****0128"),
        ("卡号4111 1111 1111 1111，开户行", "卡号4111****1111，开户行"),
        # ordinary numbers stay
        ("欠了三万多块，干了8个月", "欠了三万多块，干了8个月"),
        ("工单 滁-20261129-0007", "工单 滁-20261129-0007"),
        ("2019-03-01 09:30 到 2019-03-20", "2019-03-01 09:30 到 2019-03-20"),
        ("身份证341122198001011234", "身份证341122198001011234"),  # wrong check digit: not an ID number
        ("订单号6222021234567890123", "订单号6222021234567890123"),  # fails Luhn: not a card
        ("月收入 3000 4000 5000 6001", "月收入 3000 4000 5000 6001"),
        ("编号123456789012345", "编号123456789012345"),  # 15 digits, no real birth date or region
        ("热线12348", "热线12348"),
    ],
)
def test_mask(raw: str, masked: str) -> None:
    assert mask_pii(raw) == masked


def test_logging_setup_reexports_the_privacy_function() -> None:
    assert mask_pii is privacy_mask_pii


def test_several_numbers_in_one_text() -> None:
    text = "我叫张三，电话138-1234-5678，身份证34112219800101122X，卡号6222021234567890128，欠薪8000元"
    assert mask_pii(text) == (
        "我叫张三，电话138-****-5678，身份证341122********122X，卡号6222****0128，欠薪8000元"
    )


def test_formatter_masks_args_and_tracebacks() -> None:
    formatter = PiiMaskingFormatter("%(message)s")
    try:
        raise ValueError("bad phone 13800001111")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "citizen %s", ("139 1234 5678",), sys.exc_info()
        )
    out = formatter.format(record)
    assert "13912345678" not in out and "13800001111" not in out and "1234" not in out
    assert "139 **** 5678" in out and "138****1111" in out


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_mask_never_raises_and_is_idempotent(text: str) -> None:
    once = mask_pii(text)
    assert mask_pii(once) == once
    assert len(once) <= len(text)


_digits_and_separators = st.text(alphabet="0123456789１２３Xx +-()（）　号码电话", max_size=60)


@settings(max_examples=500, deadline=None)
@given(_digits_and_separators)
def test_mask_idempotent_on_digit_soup(text: str) -> None:
    once = mask_pii(text)
    assert mask_pii(once) == once
    if len(once) == len(text):  # no card collapsed: only digits were replaced, by stars
        assert all(a == b or (b == "*" and a.isdigit()) for a, b in zip(text, once, strict=True))


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", " ", "-"]))
def test_every_mobile_number_is_masked(number: str, sep: str) -> None:
    written = f"电话{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}。"
    assert mask_pii(written) == f"电话{number[:3]}{sep}****{sep}{number[7:]}。"
