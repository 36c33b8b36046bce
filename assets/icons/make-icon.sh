#!/bin/sh
# Redraws pvinject.png (512x512: a disk with a down arrow) with ImageMagick 6,
# then regenerates ui/bundled.go from it. Run from the repository root.
set -eu
cd "$(dirname "$0")"
convert -size 512x512 gradient:'#3b8ce0-#163d78' \
 \( -size 512x512 xc:none -fill white -draw "roundrectangle 16,16 495,495 96,96" \) -alpha on -compose DstIn -composite \
 -compose Over \
 -fill '#e9eef5' -stroke '#0f2f5c' -strokewidth 10 -draw "roundrectangle 96,300 416,440 28,28" \
 -fill '#9fb3cc' -stroke none -draw "roundrectangle 128,352 300,388 10,10" \
 -fill '#3ac27a' -stroke '#0f2f5c' -strokewidth 4 -draw "circle 360,370 378,370" \
 -fill '#ffffff' -stroke none -draw "polygon 216,64 296,64 296,164 348,164 256,262 164,164 216,164" \
 -depth 8 -strip pvinject.png
cd ../..
"$(go env GOPATH)/bin/fyne" bundle -o ui/bundled.go --package ui --name appIcon assets/icons/pvinject.png
