# SPDX-License-Identifier: MIT
# Side-by-side report of `make -C kernel bench`:
#   awk -v mb=512 -f report.awk <stock rounds> <patched rounds>
# Each input holds thp_refault's "round=N key=value ..." lines. Prints every
# metric's median [min..max] over the rounds for both kernels, the ratios, and
# a PASS/MISS line for each target of issue 4: the patched kernel refaults
# faster, and takes 512x fewer faults per 2 MB.
# mawk/POSIX awk only.

function median(f, k,   n, i, j, v, a) {
	n = cnt[f]
	for (i = 1; i <= n; i++) {
		v = val[f, k, i]
		for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]
		a[j + 1] = v
	}
	lo[f, k] = a[1]; hi[f, k] = a[n]
	if (n % 2) return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(x) { return x == int(x) ? sprintf("%d", x) : (x < 100 ? sprintf("%.2f", x) : sprintf("%.1f", x)) }
function cell(f, k,   m) {
	if (!cnt[f]) return "-"
	m = med[f, k]
	if (m == -1) return "n/a"
	return fmt(m) " [" fmt(lo[f, k]) ".." fmt(hi[f, k]) "]"
}

FNR == 1 { nf++; f = nf == 1 ? "stock" : "patched" }
/^round=/ {
	n = ++cnt[f]
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		val[f, kv[1], n] = kv[2] + 0
		if (!(kv[1] in known)) { known[kv[1]] = 1 }
	}
	# derived: faults the refault took, per 2 MB of the area
	val[f, "faults", n] = val[f, "minflt", n] + val[f, "majflt", n]
	val[f, "faults_per_2mb", n] = val[f, "faults", n] / (val[f, "mib", n] / 2)
}

END {
	nk = split("refault_ms faults_per_2mb faults minflt majflt pgfault pgmajfault thp_split_pmd thp_swpin_pmd thp_swpin_pmd_fallback thp_swpout thp_swpout_pmd pswpin pswpout pageout_ms fill_ms anon_huge_kb_before anon_huge_kb_after", keys, " ")
	known["faults"] = known["faults_per_2mb"] = 1
	for (x = 1; x <= 2; x++) {
		f = x == 1 ? "stock" : "patched"
		for (j = 1; j <= nk; j++) if (cnt[f]) med[f, keys[j]] = median(f, keys[j])
	}
	printf "kernel bench: %s MiB of MADV_HUGEPAGE memory, MADV_PAGEOUT to lz4 zram, refault read checked word by word\n", mb
	printf "rounds: stock %d, patched %d; median [min..max] per round\n\n", cnt["stock"], cnt["patched"]
	printf "%-24s %-28s %-28s %s\n", "metric", "stock", "patched", "stock/patched"
	for (j = 1; j <= nk; j++) {
		k = keys[j]
		if (!(k in known)) continue
		r = "-"
		if (cnt["stock"] && cnt["patched"] && med["stock", k] > 0 && med["patched", k] > 0)
			r = sprintf("%.2fx", med["stock", k] / med["patched", k])
		printf "%-24s %-28s %-28s %s\n", k, cell("stock", k), cell("patched", k), r
	}
	printf "\n"
	if (!cnt["stock"] || !cnt["patched"]) { print "targets: not judged (a kernel has no rounds)"; exit 1 }
	s = med["stock", "refault_ms"]; p = med["patched", "refault_ms"]
	printf "target: patched refault faster than stock: %s (median %s ms vs %s ms, %.2fx)\n",
		(p < s ? "PASS" : "MISS"), fmt(p), fmt(s), s / p
	s = med["stock", "faults_per_2mb"]; p = med["patched", "faults_per_2mb"]
	printf "target: 512x fewer faults per 2 MB on patched: %s (%s vs %s per 2 MB, %.1fx fewer)\n",
		(p > 0 && s / p >= 512 ? "PASS" : (p == 0 && s > 0 ? "PASS" : "MISS")), fmt(p), fmt(s), (p > 0 ? s / p : 0)
}
