from __future__ import annotations

import logging

import pytest

from hotline.logging_setup import PiiMaskingFormatter, mask_pii


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("我的电话13912345678", "我的电话139****5678"),
        ("身份证34112219800101123X", "身份证341122********123X"),
        ("身份证341122198001011234号", "身份证341122********1234号"),
        ("银行卡6222021234567890123", "银行卡6222****0123"),
        ("欠了三万多块，干了8个月", "欠了三万多块，干了8个月"),
        ("工单 滁-20261129-0007", "工单 滁-20261129-0007"),
    ],
)
def test_mask(raw: str, masked: str) -> None:
    assert mask_pii(raw) == masked


def test_formatter_masks_args_and_tracebacks() -> None:
    formatter = PiiMaskingFormatter("%(message)s")
    try:
        raise ValueError("bad phone 13800001111")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "citizen %s", ("13912345678",), sys.exc_info()
        )
    out = formatter.format(record)
    assert "13912345678" not in out and "13800001111" not in out
    assert "139****5678" in out and "138****1111" in out
