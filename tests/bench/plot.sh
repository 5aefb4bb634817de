# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The benchmark's plots (sourced): plot_all DIR draws, with gnuplot,
#   DIR/latency_cdf.png   fault-latency CDF, a panel per workload, a curve
#                         per system (the median over the rounds of each
#                         quantile of DIR/lat/WORKLOAD.SYSTEM.rN.txt)
#   DIR/latency_tail.png  the same as 1 - CDF on a log scale: the tail
#   DIR/throughput.png    refault throughput per workload, bars per
#                         system, min..max of the rounds as error bars
#                         (DIR/throughput.dat, written by report.awk)
# It installs gnuplot-nox when it is missing and it may (root, apt-get).

plot_need_gnuplot() {
	command -v gnuplot >/dev/null && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "plot.sh: installing gnuplot-nox" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
			  apt-get install -y -qq gnuplot-nox >/dev/null 2>&1; }
	fi
	command -v gnuplot >/dev/null && return 0
	echo "plot.sh: no gnuplot (apt-get install gnuplot-nox): no plots" >&2
	return 1
}

# plot_cdf_data DIR: DIR/cdf/WORKLOAD.SYSTEM.dat, "q ns" lines, the median
# over the rounds at each quantile
plot_cdf_data() {
	local dir=$1 f key
	mkdir -p "$dir/cdf"
	rm -f "$dir"/cdf/*.dat
	for f in "$dir"/lat/*.r*.txt; do
		[ -e "$f" ] || continue
		key=$(basename "$f")
		echo "${key%.r*.txt}"
	done | sort -u | while read -r key; do
		awk '!/^#/ { q[FNR] = $1; v[FNR, ++n[FNR]] = $2; if (FNR > m) m = FNR }
		END {
			for (i = 1; i <= m; i++) {
				c = n[i]
				for (j = 1; j <= c; j++) a[j] = v[i, j]
				for (j = 2; j <= c; j++)	# insertion sort
					for (k = j; k > 1 && a[k - 1] > a[k]; k--) {
						t = a[k]; a[k] = a[k - 1]; a[k - 1] = t
					}
				mid = c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
				if (c) print q[i], mid
			}
		}' "$dir"/lat/"$key".r*.txt >"$dir/cdf/$key.dat"
	done
}

# plot_panels DIR YEXPR YSCALE: gnuplot commands for one panel per workload
plot_panels() {
	local dir=$1 using=$2 w s f plots color title
	for w in $(awk -F'\t' '$1 == "workloads" { print $2 }' "$dir/meta.tsv"); do
		[ "$w" = evict_1g ] && continue
		plots=
		for s in $(awk -F'\t' '$1 == "systems" { print $2 }' "$dir/meta.tsv"); do
			f=$dir/cdf/$w.$s.dat
			case $s in
			zram) color="#1f77b4" ;; zswap) color="#2ca02c" ;; *) color="#d62728" ;;
			esac
			title=$s
			[ "$s" = zswap ] && title="zswap ($(awk -F'\t' '$1 == "zswap_compressor" { print $2 }' "$dir/meta.tsv"))"
			if [ -s "$f" ]; then
				plots="$plots${plots:+, }'$f' using (\$2/1000.0):$using with lines lw 2 lc rgb '$color' title '$title'"
			else
				# a system that took no fault (zswap's zero pages
				# are mapped to the zero page) or failed: in the key
				plots="$plots${plots:+, }1/0 with lines lw 2 dt 3 lc rgb '$color' title '$title: no faults'"
			fi
		done
		echo "set title '$w' noenhanced"
		echo "plot $plots"
	done
}

plot_all() {
	local dir=$1 n rows term systems bars s
	plot_need_gnuplot || return 1
	plot_cdf_data "$dir"
	systems=$(awk -F'\t' '$1 == "systems" { print $2 }' "$dir/meta.tsv")
	n=$(awk -F'\t' '$1 == "workloads" { print $2 }' "$dir/meta.tsv" | tr ' ' '\n' |
		grep -cv '^evict_1g$')
	rows=$(((n + 1) / 2))
	[ "$rows" -gt 0 ] || rows=1
	term="pngcairo enhanced font 'DejaVu Sans,10'"
	gnuplot -e "set terminal $term" 2>/dev/null </dev/null || term="png"
	{
		echo "set terminal $term size 1200,$((300 * rows + 60))"
		echo "set output '$dir/latency_cdf.png'"
		echo "set multiplot layout $rows,2 title 'fault latency CDF (median of the rounds at each quantile)'"
		echo "set logscale x; set grid; set key bottom right"
		echo "set xlabel 'fault latency (us)'; set ylabel 'share of faults'"
		echo "set yrange [0:1]"
		plot_panels "$dir" '1'
		echo "unset multiplot"
		echo "set output '$dir/latency_tail.png'"
		echo "set multiplot layout $rows,2 title 'fault latency tail: share of faults slower than x'"
		echo "set logscale xy; set yrange [1e-4:1]; set key bottom left"
		echo "set ylabel '1 - CDF'"
		plot_panels "$dir" '(1.0001-$1)'
		echo "unset multiplot"

		echo "reset"
		echo "set terminal $term size 1200,600"
		echo "set output '$dir/throughput.png'"
		echo "set title 'refault throughput (evict\\_1g: eviction), median with min..max of the rounds'"
		echo "set datafile missing '?'"
		echo "set style data histogram"
		echo "set style histogram errorbars gap 1 lw 1"
		echo "set style fill solid 0.8 border -1"
		echo "set logscale y; set grid y; set ylabel 'GB/s (log scale)'"
		echo "set xtics rotate by -30 noenhanced"
		echo "set key top left"
		# throughput.dat's columns: zram 2-4, zswap 5-7, uzswap 8-10
		bars=
		for s in zram:2:#1f77b4 zswap:5:#2ca02c uzswap:8:#d62728; do
			set -- $(echo "$s" | tr : ' ')
			case " $systems " in *" $1 "*) ;; *) continue ;; esac
			bars="$bars${bars:+, ''} using $2:$(($2 + 1)):$(($2 + 2))$([ -z "$bars" ] &&
				echo ':xtic(1)') lc rgb '$3' title '$1'"
		done
		echo "plot '$dir/throughput.dat' $bars"
	} >"$dir/plots.gp"
	if ! gnuplot "$dir/plots.gp" 2>"$dir/gnuplot.err"; then
		echo "plot.sh: gnuplot failed:" >&2
		tail -n 20 "$dir/gnuplot.err" >&2
		return 1
	fi
	[ -s "$dir/gnuplot.err" ] || rm -f "$dir/gnuplot.err"
	return 0
}
