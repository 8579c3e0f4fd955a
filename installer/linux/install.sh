#!/bin/sh
# Install the built folder for one user (no root): copies it to ~/.local/opt/cmhl-desktop, links the
# two commands into ~/.local/bin, and adds the menu entry and icon.
#   sh installer/linux/install.sh [BUILT_FOLDER]      (default: installer/dist/cmhl-desktop)
#   sh installer/linux/install.sh --uninstall
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${XDG_DATA_HOME:-$HOME/.local/share}
opt=$HOME/.local/opt/cmhl-desktop
bin=$HOME/.local/bin
if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$opt" "$bin/cmhl-desktop" "$bin/cmhl" "$prefix/applications/cmhl-desktop.desktop" \
        "$prefix/icons/hicolor/256x256/apps/cmhl-desktop.png" "$prefix/icons/hicolor/scalable/apps/cmhl-desktop.svg"
    echo "CMHL Desktop removed"
    exit 0
fi
src=${1:-$here/../dist/cmhl-desktop}
[ -x "$src/cmhl-desktop" ] || { echo "no build at $src (run: make installer)" >&2; exit 1; }
rm -rf "$opt" && mkdir -p "$(dirname "$opt")" "$bin" "$prefix/applications" \
    "$prefix/icons/hicolor/256x256/apps" "$prefix/icons/hicolor/scalable/apps"
cp -a "$src" "$opt"
ln -sf "$opt/cmhl-desktop" "$bin/cmhl-desktop"
ln -sf "$opt/cmhl" "$bin/cmhl"
cp "$here/cmhl-desktop.png" "$prefix/icons/hicolor/256x256/apps/cmhl-desktop.png"
cp "$here/cmhl-desktop.svg" "$prefix/icons/hicolor/scalable/apps/cmhl-desktop.svg"
sed -e "s|^Exec=.*|Exec=\"$opt/cmhl-desktop\" %f|" -e "s|^TryExec=.*|TryExec=$opt/cmhl-desktop|" \
    "$here/cmhl-desktop.desktop" > "$prefix/applications/cmhl-desktop.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$prefix/applications" || true
echo "CMHL Desktop installed in $opt (menu entry added; commands linked in $bin)"
