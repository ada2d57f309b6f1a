package dev.warden.sanitize;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Aho-Corasick over ASCII keywords, case-insensitive: one pass over the text finds every place any
 * keyword ends. This is the prefilter gitleaks uses (a rule runs only where one of its keywords
 * occurs); one pass for all keywords instead of one {@code indexOf} per keyword keeps it linear.
 * A non-ASCII character in the text simply matches no keyword.
 */
final class KeywordAutomaton {

    /** Receives each keyword occurrence: its index in the constructor's list and where it ends (exclusive). */
    interface Hits {
        void hit(int keyword, int end);
    }

    private static final int[] NONE = new int[0];

    private final int[] next; // state * 128 + char -> state (a complete DFA)
    private final int[][] out; // state -> keywords ending here

    KeywordAutomaton(List<String> keywords) {
        List<int[]> gotos = new ArrayList<>();
        List<int[]> outs = new ArrayList<>();
        gotos.add(filled());
        outs.add(NONE);
        for (int k = 0; k < keywords.size(); k++) {
            String word = keywords.get(k).toLowerCase(Locale.ROOT);
            if (word.isEmpty()) {
                throw new IllegalArgumentException("empty keyword");
            }
            int s = 0;
            for (int i = 0; i < word.length(); i++) {
                char c = word.charAt(i);
                if (c >= 128) {
                    throw new IllegalArgumentException("keyword is not ASCII: " + word);
                }
                if (gotos.get(s)[c] < 0) {
                    gotos.get(s)[c] = gotos.size();
                    gotos.add(filled());
                    outs.add(NONE);
                }
                s = gotos.get(s)[c];
            }
            outs.set(s, append(outs.get(s), k));
        }
        int states = gotos.size();
        int[] fail = new int[states];
        next = new int[states * 128];
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        for (int c = 0; c < 128; c++) {
            int t = gotos.get(0)[c];
            next[c] = t < 0 ? 0 : t;
            if (t > 0) {
                fail[t] = 0;
                queue.add(t);
            }
        }
        while (!queue.isEmpty()) {
            int s = queue.poll();
            outs.set(s, merge(outs.get(s), outs.get(fail[s])));
            for (int c = 0; c < 128; c++) {
                int t = gotos.get(s)[c];
                if (t < 0) {
                    next[s * 128 + c] = next[fail[s] * 128 + c];
                }
                else {
                    fail[t] = next[fail[s] * 128 + c];
                    next[s * 128 + c] = t;
                    queue.add(t);
                }
            }
        }
        out = outs.toArray(new int[0][]);
    }

    void scan(CharSequence text, Hits hits) {
        int s = 0;
        int[] nx = next;
        int[][] o = out;
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (c >= 128) {
                s = 0;
                continue;
            }
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            s = nx[s * 128 + c];
            int[] found = o[s];
            for (int k : found) {
                hits.hit(k, i + 1);
            }
        }
    }

    private static int[] filled() {
        int[] a = new int[128];
        Arrays.fill(a, -1);
        return a;
    }

    private static int[] append(int[] a, int v) {
        int[] b = Arrays.copyOf(a, a.length + 1);
        b[a.length] = v;
        return b;
    }

    private static int[] merge(int[] a, int[] b) {
        if (b.length == 0) {
            return a;
        }
        int[] m = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, m, a.length, b.length);
        return m;
    }
}
