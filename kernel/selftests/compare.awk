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
# merged with E when E is given: a case whose outcome differs between the
# runs becomes FLAKY, and so does one that did not run in one of them (in
# this one, or in the earlier ones of a program E has), unless it skipped. TAP: a pass is ok, a failure a "known stock failure"
# skip, a flaky case a skip too.
# flavour=patched: each case is compared with E:
#   stock PASS/XFAIL  -> must PASS/XFAIL here, else not ok (also if missing)
#   stock FAIL        -> ok if it passes here, else a skip "known stock failure"
#   stock FLAKY       -> ok if it passes here, else a skip "flaky on stock"
#   stock SKIP        -> ok if it passes here, skip if it skips, not ok if it fails
#   not in E          -> its own outcome (FAIL is not ok)
# With -v retry=T -v rerunids="id id..." (patched only), T holds the results
# (results.awk's lines) of a second guest run of the programs named, the ones
# that had a case not ok here. A case that was not ok is a flake only if it
# ran again and passed (PASS or XFAIL) there, in a program that ran to the
# end (not killed by a signal or its timeout):
#   ok <n> <name> # FLAKY <first result> in the first run, <result> on rerun
# otherwise (it did not run again, or SKIPped, or FAILed, or its program was
# killed) it stays not ok, with its rerun result in the text. The rerun programs are judged in full
# too: a case that was fine in the first run but is not ok on the rerun by
# the rules above (say it fails, or passes on stock and did not run again),
# and a rerun program that did not run to the end (killed by a signal or its
# timeout: its "ran to the end" FAILs, whatever stock did), adds a point
#   not ok <n> <name> (on rerun: <result>, <first result> in the first run, ...)
# to the block of that program.
BEGIN {
	FS = "\t"; nids = 0; nt = 0
	if (retry != "") {
		n = split(rerunids, f, " ")
		for (x = 1; x <= n; x++) rerunid[f[x]] = 1
		while ((getline line < retry) > 0) {
			if (line ~ /^#/ || split(line, f, "\t") < 6) continue
			if (rerunids == "") rerunid[f[1]] = 1
			k = key(f[1], f[2], f[4], f[5])
			if (k in tstat) continue
			tstat[k] = f[3]; torder[++nt] = k
			tid[k] = f[1]; tn[k] = f[2]; tctx[k] = f[4]; tdesc[k] = f[5]; tnote[k] = f[6]
			if (f[2] == "end" && f[3] != "PASS") killed[f[1]] = 1
		}
		close(retry)
	}
}

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
# 1 if result s ("" = did not run) is not ok against stock result e ("" = not
# in stock.expected)
function bad(e, s) {
	if (okclass(s)) return 0
	if (s == "") return okclass(e)
	if (e == "" || e == "SKIP") return s != "SKIP"
	return okclass(e)
}
# the case's result on the rerun of its program ("" = did not run again)
function rerun(i, k) { return (k in tstat) ? tstat[k] : "" }
function shown(s) { return s == "" ? "did not run" : s }
# for a case that is not ok: a flake only if it ran again and passed, and
# its program was not killed on the rerun
function flaky(i, k) { return (i in rerunid) && !(i in killed) && okclass(rerun(i, k)) }
function flakynote(i, k, s) { return "FLAKY " shown(s) " in the first run, " shown(rerun(i, k)) " on rerun" }
function rerunnote(i, k) {
	if (!(i in rerunid)) return ""
	return ", " shown(rerun(i, k)) " on rerun" ((i in killed) ? ", where its program was killed" : "")
}
# a point for a case of a rerun program that was fine in the first run
# (first result f) and is not now (result s on the rerun)
function rerunfail(i, k, n, c, d, f, s, e, note) {
	tap(i, 0, name(i, n, c, d) " (on rerun: " shown(s) ", " shown(f) " in the first run, " \
		(e == "" ? "not in stock.expected" : (okclass(e) ? "passes on stock" : "stock: " e)) ")" why(note), "")
}

/^#/ || NF < 6 { next }

FILENAME == expfile {
	k = key($1, $2, $4, $5)
	estat[k] = $3; enote[k] = $6
	eorder[++ne] = k; eline[k] = $0
	eid[$1] = 1
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
			# missing in the earlier stock runs of its program: flaky
			# unless it only skips (as a case missing in this run)
			note = rnote[k]
			if (!(k in estat) && (i in eid) && s != "SKIP") { s = "FLAKY"; note = "missing in a stock run" }
			printf "%s\t%s\t%s\t%s\t%s\t%s\n", i, rn[k], s, rctx[k], rdesc[k], note > newexp
			if (okclass(s)) tap(i, 1, text, "")
			else if (s == "SKIP") tap(i, 1, text, "SKIP" (rnote[k] != "" ? " " rnote[k] : ""))
			else if (s == "FLAKY") tap(i, 1, text, "SKIP flaky on stock (its outcome differs between stock runs)")
			else tap(i, 1, text, "SKIP known stock failure" why(rnote[k]))
			continue
		}
		e = (k in estat) ? estat[k] : ""
		firstbad[k] = bad(e, s)
		if (firstbad[k] && flaky(i, k)) tap(i, 1, text, flakynote(i, k, s))
		else if (okclass(s)) tap(i, 1, text, "")
		else if (e == "" && s == "SKIP") tap(i, 1, text, "SKIP" (rnote[k] != "" ? " " rnote[k] : ""))
		else if (e == "") tap(i, 0, text " (new: not in stock.expected" rerunnote(i, k) ")" why(rnote[k]), "")
		else if (okclass(e)) tap(i, 0, text " (" s " here" rerunnote(i, k) ", passes on stock)" why(rnote[k]), "")
		else if (e == "FAIL" && s != "SKIP") tap(i, 1, text, "SKIP known stock failure" why(rnote[k]))
		else if (e == "FLAKY") tap(i, 1, text, "SKIP flaky on stock, " s " here" why(rnote[k]))
		else if (s == "SKIP") tap(i, 1, text, "SKIP" (rnote[k] != "" ? " " rnote[k] : ""))
		else tap(i, 0, text " (" s " here" rerunnote(i, k) ", stock: " e ")" why(rnote[k]), "")
	}
	# stock cases this run did not produce at all
	for (j = 1; j <= ne; j++) {
		k = eorder[j]
		if (k in rstat) continue
		# the names as stock.expected has them (the key has no digits)
		split(eline[k], p, "\t"); e = estat[k]
		text = name(p[1], p[2], p[4], p[5])
		if (flavour == "stock") {
			# missing in one stock run: flaky unless it only ever skipped
			s = (e == "SKIP") ? "SKIP" : "FLAKY"
			printf "%s\t%s\t%s\t%s\t%s\t%s\n", p[1], p[2], s, p[4], p[5], "missing in a stock run" > newexp
			tap(p[1], 1, text " (did not run this time)", "SKIP " (s == "SKIP" ? "skipped on stock" : "flaky on stock"))
			continue
		}
		firstbad[k] = okclass(e)
		if (okclass(e) && flaky(p[1], k)) {
			tap(p[1], 1, text, flakynote(p[1], k, ""))
		} else if (okclass(e)) {
			tap(p[1], 0, text " (did not run here" rerunnote(p[1], k) ", passes on stock)", "")
		} else {
			tap(p[1], 1, text " (did not run here)", "SKIP stock: " e why(enote[k]))
		}
	}
	# the rerun programs in full: what was fine in the first run must be
	# fine on the rerun too, and the rerun must not be killed
	for (j = 1; j <= nt; j++) {
		k = torder[j]; i = tid[k]; s = tstat[k]
		if (!(i in rerunid) || firstbad[k]) continue
		e = (k in estat) ? estat[k] : ""
		if (bad(e, s) || (tn[k] == "end" && s != "PASS"))
			rerunfail(i, k, tn[k], tctx[k], tdesc[k], (k in rstat) ? rstat[k] : "", s, e, tnote[k])
	}
	for (j = 1; j <= ne && flavour != "stock"; j++) {
		k = eorder[j]
		if ((k in tstat) || firstbad[k] || !okclass(estat[k])) continue
		split(eline[k], p, "\t")
		if (p[1] in rerunid)
			rerunfail(p[1], k, p[2], p[4], p[5], (k in rstat) ? rstat[k] : "", "", estat[k], "")
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
