# SPDX-License-Identifier: MIT
# Turns the mm selftest results of one guest run (results.awk's lines) into
# TAP blocks that kernel/check.sh's judge counts, one block per program:
#   === TAP BEGIN mm:<id> 0 / 1..N / ok ... / === TAP END mm:<id>
#
#   awk -v flavour=stock|patched -v expfile=E -v newexp=F -f compare.awk E R
#
# E is stock.expected (the stock results, possibly merged over several runs;
# may be empty), R this run's results. A result is keyed by program, number,
# context and description (digits in the last two ignored).
#
# flavour=stock: this run is the baseline. Its results are written to F,
# merged with E when E is given (a case whose outcome differs between the
# runs becomes FLAKY). TAP: a pass is ok, a failure a "known stock failure"
# skip, a flaky case a skip too.
# flavour=patched: each case is compared with E:
#   stock PASS/XFAIL  -> must PASS/XFAIL here, else not ok (also if missing)
#   stock FAIL        -> ok if it passes here, else a skip "known stock failure"
#   stock FLAKY       -> ok if it passes here, else a skip "flaky on stock"
#   stock SKIP        -> ok if it passes here, skip if it skips, not ok if it fails
#   not in E          -> its own outcome (FAIL is not ok)
BEGIN { FS = "\t"; nids = 0 }

function okclass(s) { return s == "PASS" || s == "XFAIL" }
# numbers in context and description do not count (pagemap_ioctl's
# "transact_test Extra pages 56 (0.1%)" varies by run); the result's number
# in its program keeps the key unique
function key(a, b, c, d) {
	gsub(/[0-9]+/, "0", c)
	gsub(/[0-9]+/, "0", d)
	return a SUBSEP b SUBSEP c SUBSEP d
}
function addid(i) { if (!(i in seenid)) { seenid[i] = 1; ids[++nids] = i } }
function name(i, n, c, d,   s) {
	s = (c != "" ? c ": " : "") d
	gsub(/#/, "No.", s)	# a '#' would start a TAP directive
	s = (n == "end" || n == "exit") ? i ": " s : i "[" n "] " s
	if (length(s) > 230) s = substr(s, 1, 227) "..."
	return s
}
function tap(i, ok, text, directive) {
	cnt[i]++
	out[i, cnt[i]] = (ok ? "ok " : "not ok ") cnt[i] " " text (directive != "" ? " # " directive : "")
}
function why(note) { return note != "" ? ": " note : "" }

/^#/ || NF < 6 { next }

FILENAME == expfile {
	k = key($1, $2, $4, $5)
	estat[k] = $3; enote[k] = $6
	eorder[++ne] = k; eline[k] = $0
	addid($1)
	next
}

{
	k = key($1, $2, $4, $5)
	if (k in rstat) next	# the same result twice: keep the first
	rstat[k] = $3
	rorder[++nr] = k
	rid[k] = $1; rn[k] = $2; rctx[k] = $4; rdesc[k] = $5; rnote[k] = $6
	addid($1)
}

END {
	for (j = 1; j <= nr; j++) {
		k = rorder[j]; i = rid[k]; s = rstat[k]
		text = name(i, rn[k], rctx[k], rdesc[k])
		if (flavour == "stock") {
			if ((k in estat) && estat[k] != s && !(okclass(estat[k]) && okclass(s)))
				s = "FLAKY"
			if (k in estat && estat[k] == "FLAKY") s = "FLAKY"
			printf "%s\t%s\t%s\t%s\t%s\t%s\n", i, rn[k], s, rctx[k], rdesc[k], rnote[k] > newexp
			if (okclass(s)) tap(i, 1, text, "")
			else if (s == "SKIP") tap(i, 1, text, "SKIP" (rnote[k] != "" ? " " rnote[k] : ""))
			else if (s == "FLAKY") tap(i, 1, text, "SKIP flaky on stock (its outcome differs between stock runs)")
			else tap(i, 1, text, "SKIP known stock failure" why(rnote[k]))
			continue
		}
		e = (k in estat) ? estat[k] : ""
		if (okclass(s)) tap(i, 1, text, "")
		else if (e == "" && s == "SKIP") tap(i, 1, text, "SKIP" (rnote[k] != "" ? " " rnote[k] : ""))
		else if (e == "") tap(i, 0, text " (new: not in stock.expected)" why(rnote[k]), "")
		else if (okclass(e)) tap(i, 0, text " (" s " here, passes on stock)" why(rnote[k]), "")
		else if (e == "FAIL" && s != "SKIP") tap(i, 1, text, "SKIP known stock failure" why(rnote[k]))
		else if (e == "FLAKY") tap(i, 1, text, "SKIP flaky on stock, " s " here" why(rnote[k]))
		else if (s == "SKIP") tap(i, 1, text, "SKIP" (rnote[k] != "" ? " " rnote[k] : ""))
		else tap(i, 0, text " (" s " here, stock: " e ")" why(rnote[k]), "")
	}
	# stock cases this run did not produce at all
	for (j = 1; j <= ne; j++) {
		k = eorder[j]
		if (k in rstat) continue
		split(k, p, SUBSEP); e = estat[k]
		text = name(p[1], p[2], p[3], p[4])
		if (flavour == "stock") {
			# missing in one stock run: flaky unless it only ever skipped
			s = (e == "SKIP") ? "SKIP" : "FLAKY"
			printf "%s\t%s\t%s\t%s\t%s\t%s\n", p[1], p[2], s, p[3], p[4], "missing in a stock run" > newexp
			tap(p[1], 1, text " (did not run this time)", "SKIP " (s == "SKIP" ? "skipped on stock" : "flaky on stock"))
		} else if (okclass(e)) {
			tap(p[1], 0, text " (did not run here, passes on stock)", "")
		} else {
			tap(p[1], 1, text " (did not run here)", "SKIP stock: " e why(enote[k]))
		}
	}
	for (x = 1; x <= nids; x++) {
		i = ids[x]
		if (!cnt[i]) continue
		print "=== TAP BEGIN mm:" i " 0"
		print "1.." cnt[i]
		for (j = 1; j <= cnt[i]; j++) print out[i, j]
		print "=== TAP END mm:" i
	}
}
