"""Draw resources/icon.png (1024 px), the source image of the app icon:
`python resources/make_icon.py`.

build_app.py turns it into Killah.icns on macOS (sips + iconutil).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import (  # noqa: E402
    QBrush, QColor, QFont, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath, QPen,
)

SIZE = 1024


def draw(out: Path) -> Path:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - fonts need it
    img = QImage(SIZE, SIZE, QImage.Format_ARGB32)
    img.fill(Qt.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.Antialiasing)
    # macOS icon grid: a rounded square inset by ~10%
    inset = 100
    rect = QRectF(inset, inset, SIZE - 2 * inset, SIZE - 2 * inset)
    grad = QLinearGradient(rect.topLeft(), rect.bottomRight())
    grad.setColorAt(0.0, QColor("#2b1d4a"))
    grad.setColorAt(1.0, QColor("#0f3b57"))
    p.setBrush(QBrush(grad))
    p.setPen(Qt.NoPen)
    p.drawRoundedRect(rect, 185, 185)
    # a quill: a curved feather ending in a nib
    feather = QPainterPath(QPointF(690, 230))
    feather.cubicTo(QPointF(820, 300), QPointF(700, 560), QPointF(420, 720))
    feather.cubicTo(QPointF(520, 560), QPointF(560, 380), QPointF(690, 230))
    fg = QLinearGradient(QPointF(690, 230), QPointF(420, 720))
    fg.setColorAt(0, QColor("#f7e7c4"))
    fg.setColorAt(1, QColor("#d9a441"))
    p.setBrush(QBrush(fg))
    p.drawPath(feather)
    p.setPen(QPen(QColor("#f7e7c4"), 14, Qt.SolidLine, Qt.RoundCap))
    p.drawLine(QPointF(430, 712), QPointF(330, 820))
    # the ghost text the app is about: a grey line continuing a white one
    p.setPen(QPen(QColor("#ffffff"), 26, Qt.SolidLine, Qt.RoundCap))
    p.drawLine(QPointF(230, 830), QPointF(300, 830))
    p.setPen(QPen(QColor(255, 255, 255, 110), 26, Qt.DotLine, Qt.RoundCap))
    p.drawLine(QPointF(360, 830), QPointF(790, 830))
    # the K
    font = QFont("DejaVu Serif", 300, QFont.Bold)
    p.setFont(font)
    p.setPen(QColor("#ffffff"))
    p.drawText(QRectF(190, 180, 420, 520), Qt.AlignCenter, "K")
    p.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(str(out))
    return out


if __name__ == "__main__":
    print(draw(Path(__file__).resolve().parent / "icon.png"))
