/* tokenizer.c - CLIP BPE tokenizer: loads either vocabulary format, cleans
 * text the way CLIP's reference does, splits it with CLIP's pattern and
 * runs byte-level BPE through a pair-rank hash table and a word cache. */
#include "tokenizer.h"
#include "utf8.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <zlib.h>

/* The reference uses merges[1 : 49152-256-2+1] of the OpenAI file. */
#define GZ_MERGES (49152 - 256 - 2)
/* Upper bound on vocabulary entries we accept (CLIP has 49408). */
#define MAX_VOCAB (1 << 22)
/* The word cache is bounded: past these it starts again empty. */
#define CACHE_MAX_WORDS 16384
#define CACHE_MAX_WORD_BYTES 64

/* ---- HTML entities ---------------------------------------------------- */

/* Named entities: the HTML 4 set plus &apos; and the upper-case aliases
 * HTML 5 defines for them (generated from Python's html.entities).
 * ENT_PY: Python's html.unescape knows the name (names without ';' are the
 * legacy ones it also accepts unterminated); ENT_FTFY: ftfy's
 * unescape_html knows "&name" (it adds ALL-CAPS variants of lower-case
 * names). HTML 5-only names are left as text: prompts do not use them. */
enum { ENT_PY = 1, ENT_FTFY = 2 };
static const struct entity {
	const char *name;
	const char *value;
	int flags;
} entities[] = {
	{ "AACUTE;", "\303\201", ENT_FTFY },
	{ "ACIRC;", "\303\202", ENT_FTFY },
	{ "ACUTE;", "\302\264", ENT_FTFY },
	{ "AELIG;", "\303\206", ENT_FTFY },
	{ "AElig", "\303\206", ENT_PY },
	{ "AElig;", "\303\206", ENT_PY | ENT_FTFY },
	{ "AGRAVE;", "\303\200", ENT_FTFY },
	{ "ALEFSYM;", "\342\204\265", ENT_FTFY },
	{ "ALPHA;", "\316\221", ENT_FTFY },
	{ "AMP", "&", ENT_PY },
	{ "AMP;", "&", ENT_PY | ENT_FTFY },
	{ "AND;", "\342\210\247", ENT_FTFY },
	{ "ANG;", "\342\210\240", ENT_FTFY },
	{ "APOS;", "'", ENT_FTFY },
	{ "ARING;", "\303\205", ENT_FTFY },
	{ "ASYMP;", "\342\211\210", ENT_FTFY },
	{ "ATILDE;", "\303\203", ENT_FTFY },
	{ "AUML;", "\303\204", ENT_FTFY },
	{ "Aacute", "\303\201", ENT_PY },
	{ "Aacute;", "\303\201", ENT_PY | ENT_FTFY },
	{ "Acirc", "\303\202", ENT_PY },
	{ "Acirc;", "\303\202", ENT_PY | ENT_FTFY },
	{ "Agrave", "\303\200", ENT_PY },
	{ "Agrave;", "\303\200", ENT_PY | ENT_FTFY },
	{ "Alpha;", "\316\221", ENT_PY | ENT_FTFY },
	{ "Aring", "\303\205", ENT_PY },
	{ "Aring;", "\303\205", ENT_PY | ENT_FTFY },
	{ "Atilde", "\303\203", ENT_PY },
	{ "Atilde;", "\303\203", ENT_PY | ENT_FTFY },
	{ "Auml", "\303\204", ENT_PY },
	{ "Auml;", "\303\204", ENT_PY | ENT_FTFY },
	{ "BDQUO;", "\342\200\236", ENT_FTFY },
	{ "BETA;", "\316\222", ENT_FTFY },
	{ "BRVBAR;", "\302\246", ENT_FTFY },
	{ "BULL;", "\342\200\242", ENT_FTFY },
	{ "Beta;", "\316\222", ENT_PY | ENT_FTFY },
	{ "CAP;", "\342\210\251", ENT_FTFY },
	{ "CCEDIL;", "\303\207", ENT_FTFY },
	{ "CEDIL;", "\302\270", ENT_FTFY },
	{ "CENT;", "\302\242", ENT_FTFY },
	{ "CHI;", "\316\247", ENT_FTFY },
	{ "CIRC;", "\313\206", ENT_FTFY },
	{ "CLUBS;", "\342\231\243", ENT_FTFY },
	{ "CONG;", "\342\211\205", ENT_FTFY },
	{ "COPY", "\302\251", ENT_PY },
	{ "COPY;", "\302\251", ENT_PY | ENT_FTFY },
	{ "CRARR;", "\342\206\265", ENT_FTFY },
	{ "CUP;", "\342\210\252", ENT_FTFY },
	{ "CURREN;", "\302\244", ENT_FTFY },
	{ "Ccedil", "\303\207", ENT_PY },
	{ "Ccedil;", "\303\207", ENT_PY | ENT_FTFY },
	{ "Chi;", "\316\247", ENT_PY | ENT_FTFY },
	{ "DAGGER;", "\342\200\240", ENT_FTFY },
	{ "DARR;", "\342\206\223", ENT_FTFY },
	{ "DEG;", "\302\260", ENT_FTFY },
	{ "DELTA;", "\316\224", ENT_FTFY },
	{ "DIAMS;", "\342\231\246", ENT_FTFY },
	{ "DIVIDE;", "\303\267", ENT_FTFY },
	{ "Dagger;", "\342\200\241", ENT_PY | ENT_FTFY },
	{ "Delta;", "\316\224", ENT_PY | ENT_FTFY },
	{ "EACUTE;", "\303\211", ENT_FTFY },
	{ "ECIRC;", "\303\212", ENT_FTFY },
	{ "EGRAVE;", "\303\210", ENT_FTFY },
	{ "EMPTY;", "\342\210\205", ENT_FTFY },
	{ "EMSP;", "\342\200\203", ENT_FTFY },
	{ "ENSP;", "\342\200\202", ENT_FTFY },
	{ "EPSILON;", "\316\225", ENT_FTFY },
	{ "EQUIV;", "\342\211\241", ENT_FTFY },
	{ "ETA;", "\316\227", ENT_FTFY },
	{ "ETH", "\303\220", ENT_PY },
	{ "ETH;", "\303\220", ENT_PY | ENT_FTFY },
	{ "EUML;", "\303\213", ENT_FTFY },
	{ "EURO;", "\342\202\254", ENT_FTFY },
	{ "EXIST;", "\342\210\203", ENT_FTFY },
	{ "Eacute", "\303\211", ENT_PY },
	{ "Eacute;", "\303\211", ENT_PY | ENT_FTFY },
	{ "Ecirc", "\303\212", ENT_PY },
	{ "Ecirc;", "\303\212", ENT_PY | ENT_FTFY },
	{ "Egrave", "\303\210", ENT_PY },
	{ "Egrave;", "\303\210", ENT_PY | ENT_FTFY },
	{ "Epsilon;", "\316\225", ENT_PY | ENT_FTFY },
	{ "Eta;", "\316\227", ENT_PY | ENT_FTFY },
	{ "Euml", "\303\213", ENT_PY },
	{ "Euml;", "\303\213", ENT_PY | ENT_FTFY },
	{ "FNOF;", "\306\221", ENT_FTFY },
	{ "FORALL;", "\342\210\200", ENT_FTFY },
	{ "FRAC12;", "\302\275", ENT_FTFY },
	{ "FRAC14;", "\302\274", ENT_FTFY },
	{ "FRAC34;", "\302\276", ENT_FTFY },
	{ "FRASL;", "\342\201\204", ENT_FTFY },
	{ "ForAll;", "\342\210\200", ENT_PY | ENT_FTFY },
	{ "GAMMA;", "\316\223", ENT_FTFY },
	{ "GE;", "\342\211\245", ENT_FTFY },
	{ "GT", ">", ENT_PY },
	{ "GT;", ">", ENT_PY | ENT_FTFY },
	{ "Gamma;", "\316\223", ENT_PY | ENT_FTFY },
	{ "HARR;", "\342\206\224", ENT_FTFY },
	{ "HEARTS;", "\342\231\245", ENT_FTFY },
	{ "HELLIP;", "\342\200\246", ENT_FTFY },
	{ "IACUTE;", "\303\215", ENT_FTFY },
	{ "ICIRC;", "\303\216", ENT_FTFY },
	{ "IEXCL;", "\302\241", ENT_FTFY },
	{ "IGRAVE;", "\303\214", ENT_FTFY },
	{ "IMAGE;", "\342\204\221", ENT_FTFY },
	{ "INFIN;", "\342\210\236", ENT_FTFY },
	{ "INT;", "\342\210\253", ENT_FTFY },
	{ "IOTA;", "\316\231", ENT_FTFY },
	{ "IQUEST;", "\302\277", ENT_FTFY },
	{ "ISIN;", "\342\210\210", ENT_FTFY },
	{ "IUML;", "\303\217", ENT_FTFY },
	{ "Iacute", "\303\215", ENT_PY },
	{ "Iacute;", "\303\215", ENT_PY | ENT_FTFY },
	{ "Icirc", "\303\216", ENT_PY },
	{ "Icirc;", "\303\216", ENT_PY | ENT_FTFY },
	{ "Igrave", "\303\214", ENT_PY },
	{ "Igrave;", "\303\214", ENT_PY | ENT_FTFY },
	{ "Iota;", "\316\231", ENT_PY | ENT_FTFY },
	{ "Iuml", "\303\217", ENT_PY },
	{ "Iuml;", "\303\217", ENT_PY | ENT_FTFY },
	{ "KAPPA;", "\316\232", ENT_FTFY },
	{ "Kappa;", "\316\232", ENT_PY | ENT_FTFY },
	{ "LAMBDA;", "\316\233", ENT_FTFY },
	{ "LANG;", "\342\237\250", ENT_FTFY },
	{ "LAQUO;", "\302\253", ENT_FTFY },
	{ "LARR;", "\342\206\220", ENT_FTFY },
	{ "LCEIL;", "\342\214\210", ENT_FTFY },
	{ "LDQUO;", "\342\200\234", ENT_FTFY },
	{ "LE;", "\342\211\244", ENT_FTFY },
	{ "LFLOOR;", "\342\214\212", ENT_FTFY },
	{ "LOWAST;", "\342\210\227", ENT_FTFY },
	{ "LOZ;", "\342\227\212", ENT_FTFY },
	{ "LRM;", "\342\200\216", ENT_FTFY },
	{ "LSAQUO;", "\342\200\271", ENT_FTFY },
	{ "LSQUO;", "\342\200\230", ENT_FTFY },
	{ "LT", "<", ENT_PY },
	{ "LT;", "<", ENT_PY | ENT_FTFY },
	{ "Lambda;", "\316\233", ENT_PY | ENT_FTFY },
	{ "MACR;", "\302\257", ENT_FTFY },
	{ "MDASH;", "\342\200\224", ENT_FTFY },
	{ "MICRO;", "\316\234", ENT_FTFY },
	{ "MIDDOT;", "\302\267", ENT_FTFY },
	{ "MINUS;", "\342\210\222", ENT_FTFY },
	{ "MU;", "\316\234", ENT_FTFY },
	{ "Mu;", "\316\234", ENT_PY | ENT_FTFY },
	{ "NABLA;", "\342\210\207", ENT_FTFY },
	{ "NBSP;", "\302\240", ENT_FTFY },
	{ "NDASH;", "\342\200\223", ENT_FTFY },
	{ "NE;", "\342\211\240", ENT_FTFY },
	{ "NI;", "\342\210\213", ENT_FTFY },
	{ "NOT;", "\302\254", ENT_FTFY },
	{ "NOTIN;", "\342\210\211", ENT_FTFY },
	{ "NSUB;", "\342\212\204", ENT_FTFY },
	{ "NTILDE;", "\303\221", ENT_FTFY },
	{ "NU;", "\316\235", ENT_FTFY },
	{ "Ntilde", "\303\221", ENT_PY },
	{ "Ntilde;", "\303\221", ENT_PY | ENT_FTFY },
	{ "Nu;", "\316\235", ENT_PY | ENT_FTFY },
	{ "OACUTE;", "\303\223", ENT_FTFY },
	{ "OCIRC;", "\303\224", ENT_FTFY },
	{ "OELIG;", "\305\222", ENT_FTFY },
	{ "OElig;", "\305\222", ENT_PY | ENT_FTFY },
	{ "OGRAVE;", "\303\222", ENT_FTFY },
	{ "OLINE;", "\342\200\276", ENT_FTFY },
	{ "OMEGA;", "\316\251", ENT_FTFY },
	{ "OMICRON;", "\316\237", ENT_FTFY },
	{ "OPLUS;", "\342\212\225", ENT_FTFY },
	{ "OR;", "\342\210\250", ENT_FTFY },
	{ "ORDF;", "\302\252", ENT_FTFY },
	{ "ORDM;", "\302\272", ENT_FTFY },
	{ "OSLASH;", "\303\230", ENT_FTFY },
	{ "OTILDE;", "\303\225", ENT_FTFY },
	{ "OTIMES;", "\342\212\227", ENT_FTFY },
	{ "OUML;", "\303\226", ENT_FTFY },
	{ "Oacute", "\303\223", ENT_PY },
	{ "Oacute;", "\303\223", ENT_PY | ENT_FTFY },
	{ "Ocirc", "\303\224", ENT_PY },
	{ "Ocirc;", "\303\224", ENT_PY | ENT_FTFY },
	{ "Ograve", "\303\222", ENT_PY },
	{ "Ograve;", "\303\222", ENT_PY | ENT_FTFY },
	{ "Omega;", "\316\251", ENT_PY | ENT_FTFY },
	{ "Omicron;", "\316\237", ENT_PY | ENT_FTFY },
	{ "Oslash", "\303\230", ENT_PY },
	{ "Oslash;", "\303\230", ENT_PY | ENT_FTFY },
	{ "Otilde", "\303\225", ENT_PY },
	{ "Otilde;", "\303\225", ENT_PY | ENT_FTFY },
	{ "Ouml", "\303\226", ENT_PY },
	{ "Ouml;", "\303\226", ENT_PY | ENT_FTFY },
	{ "PARA;", "\302\266", ENT_FTFY },
	{ "PART;", "\342\210\202", ENT_FTFY },
	{ "PERMIL;", "\342\200\260", ENT_FTFY },
	{ "PERP;", "\342\212\245", ENT_FTFY },
	{ "PHI;", "\316\246", ENT_FTFY },
	{ "PI;", "\316\240", ENT_FTFY },
	{ "PIV;", "\316\240", ENT_FTFY },
	{ "PLUSMN;", "\302\261", ENT_FTFY },
	{ "POUND;", "\302\243", ENT_FTFY },
	{ "PRIME;", "\342\200\262", ENT_FTFY },
	{ "PROD;", "\342\210\217", ENT_FTFY },
	{ "PROP;", "\342\210\235", ENT_FTFY },
	{ "PSI;", "\316\250", ENT_FTFY },
	{ "Phi;", "\316\246", ENT_PY | ENT_FTFY },
	{ "Pi;", "\316\240", ENT_PY | ENT_FTFY },
	{ "Prime;", "\342\200\263", ENT_PY | ENT_FTFY },
	{ "Psi;", "\316\250", ENT_PY | ENT_FTFY },
	{ "QUOT", "\042", ENT_PY },
	{ "QUOT;", "\042", ENT_PY | ENT_FTFY },
	{ "RADIC;", "\342\210\232", ENT_FTFY },
	{ "RANG;", "\342\237\251", ENT_FTFY },
	{ "RAQUO;", "\302\273", ENT_FTFY },
	{ "RARR;", "\342\206\222", ENT_FTFY },
	{ "RCEIL;", "\342\214\211", ENT_FTFY },
	{ "RDQUO;", "\342\200\235", ENT_FTFY },
	{ "REAL;", "\342\204\234", ENT_FTFY },
	{ "REG", "\302\256", ENT_PY },
	{ "REG;", "\302\256", ENT_PY | ENT_FTFY },
	{ "RFLOOR;", "\342\214\213", ENT_FTFY },
	{ "RHO;", "\316\241", ENT_FTFY },
	{ "RLM;", "\342\200\217", ENT_FTFY },
	{ "RSAQUO;", "\342\200\272", ENT_FTFY },
	{ "RSQUO;", "\342\200\231", ENT_FTFY },
	{ "Rho;", "\316\241", ENT_PY | ENT_FTFY },
	{ "SBQUO;", "\342\200\232", ENT_FTFY },
	{ "SCARON;", "\305\240", ENT_FTFY },
	{ "SDOT;", "\342\213\205", ENT_FTFY },
	{ "SECT;", "\302\247", ENT_FTFY },
	{ "SHY;", "\302\255", ENT_FTFY },
	{ "SIGMA;", "\316\243", ENT_FTFY },
	{ "SIGMAF;", "\316\243", ENT_FTFY },
	{ "SIM;", "\342\210\274", ENT_FTFY },
	{ "SPADES;", "\342\231\240", ENT_FTFY },
	{ "SUB;", "\342\212\202", ENT_FTFY },
	{ "SUBE;", "\342\212\206", ENT_FTFY },
	{ "SUM;", "\342\210\221", ENT_FTFY },
	{ "SUP1;", "\302\271", ENT_FTFY },
	{ "SUP2;", "\302\262", ENT_FTFY },
	{ "SUP3;", "\302\263", ENT_FTFY },
	{ "SUP;", "\342\212\203", ENT_FTFY },
	{ "SUPE;", "\342\212\207", ENT_FTFY },
	{ "SZLIG;", "SS", ENT_FTFY },
	{ "Scaron;", "\305\240", ENT_PY | ENT_FTFY },
	{ "Sigma;", "\316\243", ENT_PY | ENT_FTFY },
	{ "Sum;", "\342\210\221", ENT_PY | ENT_FTFY },
	{ "TAU;", "\316\244", ENT_FTFY },
	{ "THERE4;", "\342\210\264", ENT_FTFY },
	{ "THETA;", "\316\230", ENT_FTFY },
	{ "THETASYM;", "\316\230", ENT_FTFY },
	{ "THINSP;", "\342\200\211", ENT_FTFY },
	{ "THORN", "\303\236", ENT_PY },
	{ "THORN;", "\303\236", ENT_PY | ENT_FTFY },
	{ "TILDE;", "\313\234", ENT_FTFY },
	{ "TIMES;", "\303\227", ENT_FTFY },
	{ "TRADE;", "\342\204\242", ENT_PY | ENT_FTFY },
	{ "Tau;", "\316\244", ENT_PY | ENT_FTFY },
	{ "Theta;", "\316\230", ENT_PY | ENT_FTFY },
	{ "UACUTE;", "\303\232", ENT_FTFY },
	{ "UARR;", "\342\206\221", ENT_FTFY },
	{ "UCIRC;", "\303\233", ENT_FTFY },
	{ "UGRAVE;", "\303\231", ENT_FTFY },
	{ "UML;", "\302\250", ENT_FTFY },
	{ "UPSIH;", "\317\222", ENT_FTFY },
	{ "UPSILON;", "\316\245", ENT_FTFY },
	{ "UUML;", "\303\234", ENT_FTFY },
	{ "Uacute", "\303\232", ENT_PY },
	{ "Uacute;", "\303\232", ENT_PY | ENT_FTFY },
	{ "Ucirc", "\303\233", ENT_PY },
	{ "Ucirc;", "\303\233", ENT_PY | ENT_FTFY },
	{ "Ugrave", "\303\231", ENT_PY },
	{ "Ugrave;", "\303\231", ENT_PY | ENT_FTFY },
	{ "Upsilon;", "\316\245", ENT_PY | ENT_FTFY },
	{ "Uuml", "\303\234", ENT_PY },
	{ "Uuml;", "\303\234", ENT_PY | ENT_FTFY },
	{ "WEIERP;", "\342\204\230", ENT_FTFY },
	{ "XI;", "\316\236", ENT_FTFY },
	{ "Xi;", "\316\236", ENT_PY | ENT_FTFY },
	{ "YACUTE;", "\303\235", ENT_FTFY },
	{ "YEN;", "\302\245", ENT_FTFY },
	{ "YUML;", "\305\270", ENT_FTFY },
	{ "Yacute", "\303\235", ENT_PY },
	{ "Yacute;", "\303\235", ENT_PY | ENT_FTFY },
	{ "Yuml;", "\305\270", ENT_PY | ENT_FTFY },
	{ "ZETA;", "\316\226", ENT_FTFY },
	{ "ZWJ;", "\342\200\215", ENT_FTFY },
	{ "ZWNJ;", "\342\200\214", ENT_FTFY },
	{ "Zeta;", "\316\226", ENT_PY | ENT_FTFY },
	{ "aacute", "\303\241", ENT_PY },
	{ "aacute;", "\303\241", ENT_PY | ENT_FTFY },
	{ "acirc", "\303\242", ENT_PY },
	{ "acirc;", "\303\242", ENT_PY | ENT_FTFY },
	{ "acute", "\302\264", ENT_PY },
	{ "acute;", "\302\264", ENT_PY | ENT_FTFY },
	{ "aelig", "\303\246", ENT_PY },
	{ "aelig;", "\303\246", ENT_PY | ENT_FTFY },
	{ "agrave", "\303\240", ENT_PY },
	{ "agrave;", "\303\240", ENT_PY | ENT_FTFY },
	{ "alefsym;", "\342\204\265", ENT_PY | ENT_FTFY },
	{ "alpha;", "\316\261", ENT_PY | ENT_FTFY },
	{ "amp", "&", ENT_PY },
	{ "amp;", "&", ENT_PY | ENT_FTFY },
	{ "and;", "\342\210\247", ENT_PY | ENT_FTFY },
	{ "ang;", "\342\210\240", ENT_PY | ENT_FTFY },
	{ "apos;", "'", ENT_PY | ENT_FTFY },
	{ "aring", "\303\245", ENT_PY },
	{ "aring;", "\303\245", ENT_PY | ENT_FTFY },
	{ "asymp;", "\342\211\210", ENT_PY | ENT_FTFY },
	{ "atilde", "\303\243", ENT_PY },
	{ "atilde;", "\303\243", ENT_PY | ENT_FTFY },
	{ "auml", "\303\244", ENT_PY },
	{ "auml;", "\303\244", ENT_PY | ENT_FTFY },
	{ "bdquo;", "\342\200\236", ENT_PY | ENT_FTFY },
	{ "beta;", "\316\262", ENT_PY | ENT_FTFY },
	{ "brvbar", "\302\246", ENT_PY },
	{ "brvbar;", "\302\246", ENT_PY | ENT_FTFY },
	{ "bull;", "\342\200\242", ENT_PY | ENT_FTFY },
	{ "cap;", "\342\210\251", ENT_PY | ENT_FTFY },
	{ "ccedil", "\303\247", ENT_PY },
	{ "ccedil;", "\303\247", ENT_PY | ENT_FTFY },
	{ "cedil", "\302\270", ENT_PY },
	{ "cedil;", "\302\270", ENT_PY | ENT_FTFY },
	{ "cent", "\302\242", ENT_PY },
	{ "cent;", "\302\242", ENT_PY | ENT_FTFY },
	{ "chi;", "\317\207", ENT_PY | ENT_FTFY },
	{ "circ;", "\313\206", ENT_PY | ENT_FTFY },
	{ "clubs;", "\342\231\243", ENT_PY | ENT_FTFY },
	{ "cong;", "\342\211\205", ENT_PY | ENT_FTFY },
	{ "copy", "\302\251", ENT_PY },
	{ "copy;", "\302\251", ENT_PY | ENT_FTFY },
	{ "crarr;", "\342\206\265", ENT_PY | ENT_FTFY },
	{ "cup;", "\342\210\252", ENT_PY | ENT_FTFY },
	{ "curren", "\302\244", ENT_PY },
	{ "curren;", "\302\244", ENT_PY | ENT_FTFY },
	{ "dArr;", "\342\207\223", ENT_PY | ENT_FTFY },
	{ "dagger;", "\342\200\240", ENT_PY | ENT_FTFY },
	{ "darr;", "\342\206\223", ENT_PY | ENT_FTFY },
	{ "deg", "\302\260", ENT_PY },
	{ "deg;", "\302\260", ENT_PY | ENT_FTFY },
	{ "delta;", "\316\264", ENT_PY | ENT_FTFY },
	{ "diams;", "\342\231\246", ENT_PY | ENT_FTFY },
	{ "divide", "\303\267", ENT_PY },
	{ "divide;", "\303\267", ENT_PY | ENT_FTFY },
	{ "eacute", "\303\251", ENT_PY },
	{ "eacute;", "\303\251", ENT_PY | ENT_FTFY },
	{ "ecirc", "\303\252", ENT_PY },
	{ "ecirc;", "\303\252", ENT_PY | ENT_FTFY },
	{ "egrave", "\303\250", ENT_PY },
	{ "egrave;", "\303\250", ENT_PY | ENT_FTFY },
	{ "empty;", "\342\210\205", ENT_PY | ENT_FTFY },
	{ "emsp;", "\342\200\203", ENT_PY | ENT_FTFY },
	{ "ensp;", "\342\200\202", ENT_PY | ENT_FTFY },
	{ "epsilon;", "\316\265", ENT_PY | ENT_FTFY },
	{ "equiv;", "\342\211\241", ENT_PY | ENT_FTFY },
	{ "eta;", "\316\267", ENT_PY | ENT_FTFY },
	{ "eth", "\303\260", ENT_PY },
	{ "eth;", "\303\260", ENT_PY | ENT_FTFY },
	{ "euml", "\303\253", ENT_PY },
	{ "euml;", "\303\253", ENT_PY | ENT_FTFY },
	{ "euro;", "\342\202\254", ENT_PY | ENT_FTFY },
	{ "exist;", "\342\210\203", ENT_PY | ENT_FTFY },
	{ "fnof;", "\306\222", ENT_PY | ENT_FTFY },
	{ "forall;", "\342\210\200", ENT_PY | ENT_FTFY },
	{ "frac12", "\302\275", ENT_PY },
	{ "frac12;", "\302\275", ENT_PY | ENT_FTFY },
	{ "frac14", "\302\274", ENT_PY },
	{ "frac14;", "\302\274", ENT_PY | ENT_FTFY },
	{ "frac34", "\302\276", ENT_PY },
	{ "frac34;", "\302\276", ENT_PY | ENT_FTFY },
	{ "frasl;", "\342\201\204", ENT_PY | ENT_FTFY },
	{ "gamma;", "\316\263", ENT_PY | ENT_FTFY },
	{ "ge;", "\342\211\245", ENT_PY | ENT_FTFY },
	{ "gt", ">", ENT_PY },
	{ "gt;", ">", ENT_PY | ENT_FTFY },
	{ "hArr;", "\342\207\224", ENT_PY | ENT_FTFY },
	{ "harr;", "\342\206\224", ENT_PY | ENT_FTFY },
	{ "hearts;", "\342\231\245", ENT_PY | ENT_FTFY },
	{ "hellip;", "\342\200\246", ENT_PY | ENT_FTFY },
	{ "iacute", "\303\255", ENT_PY },
	{ "iacute;", "\303\255", ENT_PY | ENT_FTFY },
	{ "icirc", "\303\256", ENT_PY },
	{ "icirc;", "\303\256", ENT_PY | ENT_FTFY },
	{ "iexcl", "\302\241", ENT_PY },
	{ "iexcl;", "\302\241", ENT_PY | ENT_FTFY },
	{ "igrave", "\303\254", ENT_PY },
	{ "igrave;", "\303\254", ENT_PY | ENT_FTFY },
	{ "image;", "\342\204\221", ENT_PY | ENT_FTFY },
	{ "infin;", "\342\210\236", ENT_PY | ENT_FTFY },
	{ "int;", "\342\210\253", ENT_PY | ENT_FTFY },
	{ "iota;", "\316\271", ENT_PY | ENT_FTFY },
	{ "iquest", "\302\277", ENT_PY },
	{ "iquest;", "\302\277", ENT_PY | ENT_FTFY },
	{ "isin;", "\342\210\210", ENT_PY | ENT_FTFY },
	{ "iuml", "\303\257", ENT_PY },
	{ "iuml;", "\303\257", ENT_PY | ENT_FTFY },
	{ "kappa;", "\316\272", ENT_PY | ENT_FTFY },
	{ "lArr;", "\342\207\220", ENT_PY | ENT_FTFY },
	{ "lambda;", "\316\273", ENT_PY | ENT_FTFY },
	{ "lang;", "\342\237\250", ENT_PY | ENT_FTFY },
	{ "laquo", "\302\253", ENT_PY },
	{ "laquo;", "\302\253", ENT_PY | ENT_FTFY },
	{ "larr;", "\342\206\220", ENT_PY | ENT_FTFY },
	{ "lceil;", "\342\214\210", ENT_PY | ENT_FTFY },
	{ "ldquo;", "\342\200\234", ENT_PY | ENT_FTFY },
	{ "le;", "\342\211\244", ENT_PY | ENT_FTFY },
	{ "lfloor;", "\342\214\212", ENT_PY | ENT_FTFY },
	{ "lowast;", "\342\210\227", ENT_PY | ENT_FTFY },
	{ "loz;", "\342\227\212", ENT_PY | ENT_FTFY },
	{ "lrm;", "\342\200\216", ENT_PY | ENT_FTFY },
	{ "lsaquo;", "\342\200\271", ENT_PY | ENT_FTFY },
	{ "lsquo;", "\342\200\230", ENT_PY | ENT_FTFY },
	{ "lt", "<", ENT_PY },
	{ "lt;", "<", ENT_PY | ENT_FTFY },
	{ "macr", "\302\257", ENT_PY },
	{ "macr;", "\302\257", ENT_PY | ENT_FTFY },
	{ "mdash;", "\342\200\224", ENT_PY | ENT_FTFY },
	{ "micro", "\302\265", ENT_PY },
	{ "micro;", "\302\265", ENT_PY | ENT_FTFY },
	{ "middot", "\302\267", ENT_PY },
	{ "middot;", "\302\267", ENT_PY | ENT_FTFY },
	{ "minus;", "\342\210\222", ENT_PY | ENT_FTFY },
	{ "mu;", "\316\274", ENT_PY | ENT_FTFY },
	{ "nabla;", "\342\210\207", ENT_PY | ENT_FTFY },
	{ "nbsp", "\302\240", ENT_PY },
	{ "nbsp;", "\302\240", ENT_PY | ENT_FTFY },
	{ "ndash;", "\342\200\223", ENT_PY | ENT_FTFY },
	{ "ne;", "\342\211\240", ENT_PY | ENT_FTFY },
	{ "ni;", "\342\210\213", ENT_PY | ENT_FTFY },
	{ "not", "\302\254", ENT_PY },
	{ "not;", "\302\254", ENT_PY | ENT_FTFY },
	{ "notin;", "\342\210\211", ENT_PY | ENT_FTFY },
	{ "nsub;", "\342\212\204", ENT_PY | ENT_FTFY },
	{ "ntilde", "\303\261", ENT_PY },
	{ "ntilde;", "\303\261", ENT_PY | ENT_FTFY },
	{ "nu;", "\316\275", ENT_PY | ENT_FTFY },
	{ "oacute", "\303\263", ENT_PY },
	{ "oacute;", "\303\263", ENT_PY | ENT_FTFY },
	{ "ocirc", "\303\264", ENT_PY },
	{ "ocirc;", "\303\264", ENT_PY | ENT_FTFY },
	{ "oelig;", "\305\223", ENT_PY | ENT_FTFY },
	{ "ograve", "\303\262", ENT_PY },
	{ "ograve;", "\303\262", ENT_PY | ENT_FTFY },
	{ "oline;", "\342\200\276", ENT_PY | ENT_FTFY },
	{ "omega;", "\317\211", ENT_PY | ENT_FTFY },
	{ "omicron;", "\316\277", ENT_PY | ENT_FTFY },
	{ "oplus;", "\342\212\225", ENT_PY | ENT_FTFY },
	{ "or;", "\342\210\250", ENT_PY | ENT_FTFY },
	{ "ordf", "\302\252", ENT_PY },
	{ "ordf;", "\302\252", ENT_PY | ENT_FTFY },
	{ "ordm", "\302\272", ENT_PY },
	{ "ordm;", "\302\272", ENT_PY | ENT_FTFY },
	{ "oslash", "\303\270", ENT_PY },
	{ "oslash;", "\303\270", ENT_PY | ENT_FTFY },
	{ "otilde", "\303\265", ENT_PY },
	{ "otilde;", "\303\265", ENT_PY | ENT_FTFY },
	{ "otimes;", "\342\212\227", ENT_PY | ENT_FTFY },
	{ "ouml", "\303\266", ENT_PY },
	{ "ouml;", "\303\266", ENT_PY | ENT_FTFY },
	{ "para", "\302\266", ENT_PY },
	{ "para;", "\302\266", ENT_PY | ENT_FTFY },
	{ "part;", "\342\210\202", ENT_PY | ENT_FTFY },
	{ "permil;", "\342\200\260", ENT_PY | ENT_FTFY },
	{ "perp;", "\342\212\245", ENT_PY | ENT_FTFY },
	{ "phi;", "\317\206", ENT_PY | ENT_FTFY },
	{ "pi;", "\317\200", ENT_PY | ENT_FTFY },
	{ "piv;", "\317\226", ENT_PY | ENT_FTFY },
	{ "plusmn", "\302\261", ENT_PY },
	{ "plusmn;", "\302\261", ENT_PY | ENT_FTFY },
	{ "pound", "\302\243", ENT_PY },
	{ "pound;", "\302\243", ENT_PY | ENT_FTFY },
	{ "prime;", "\342\200\262", ENT_PY | ENT_FTFY },
	{ "prod;", "\342\210\217", ENT_PY | ENT_FTFY },
	{ "prop;", "\342\210\235", ENT_PY | ENT_FTFY },
	{ "psi;", "\317\210", ENT_PY | ENT_FTFY },
	{ "quot", "\042", ENT_PY },
	{ "quot;", "\042", ENT_PY | ENT_FTFY },
	{ "rArr;", "\342\207\222", ENT_PY | ENT_FTFY },
	{ "radic;", "\342\210\232", ENT_PY | ENT_FTFY },
	{ "rang;", "\342\237\251", ENT_PY | ENT_FTFY },
	{ "raquo", "\302\273", ENT_PY },
	{ "raquo;", "\302\273", ENT_PY | ENT_FTFY },
	{ "rarr;", "\342\206\222", ENT_PY | ENT_FTFY },
	{ "rceil;", "\342\214\211", ENT_PY | ENT_FTFY },
	{ "rdquo;", "\342\200\235", ENT_PY | ENT_FTFY },
	{ "real;", "\342\204\234", ENT_PY | ENT_FTFY },
	{ "reg", "\302\256", ENT_PY },
	{ "reg;", "\302\256", ENT_PY | ENT_FTFY },
	{ "rfloor;", "\342\214\213", ENT_PY | ENT_FTFY },
	{ "rho;", "\317\201", ENT_PY | ENT_FTFY },
	{ "rlm;", "\342\200\217", ENT_PY | ENT_FTFY },
	{ "rsaquo;", "\342\200\272", ENT_PY | ENT_FTFY },
	{ "rsquo;", "\342\200\231", ENT_PY | ENT_FTFY },
	{ "sbquo;", "\342\200\232", ENT_PY | ENT_FTFY },
	{ "scaron;", "\305\241", ENT_PY | ENT_FTFY },
	{ "sdot;", "\342\213\205", ENT_PY | ENT_FTFY },
	{ "sect", "\302\247", ENT_PY },
	{ "sect;", "\302\247", ENT_PY | ENT_FTFY },
	{ "shy", "\302\255", ENT_PY },
	{ "shy;", "\302\255", ENT_PY | ENT_FTFY },
	{ "sigma;", "\317\203", ENT_PY | ENT_FTFY },
	{ "sigmaf;", "\317\202", ENT_PY | ENT_FTFY },
	{ "sim;", "\342\210\274", ENT_PY | ENT_FTFY },
	{ "spades;", "\342\231\240", ENT_PY | ENT_FTFY },
	{ "sub;", "\342\212\202", ENT_PY | ENT_FTFY },
	{ "sube;", "\342\212\206", ENT_PY | ENT_FTFY },
	{ "sum;", "\342\210\221", ENT_PY | ENT_FTFY },
	{ "sup1", "\302\271", ENT_PY },
	{ "sup1;", "\302\271", ENT_PY | ENT_FTFY },
	{ "sup2", "\302\262", ENT_PY },
	{ "sup2;", "\302\262", ENT_PY | ENT_FTFY },
	{ "sup3", "\302\263", ENT_PY },
	{ "sup3;", "\302\263", ENT_PY | ENT_FTFY },
	{ "sup;", "\342\212\203", ENT_PY | ENT_FTFY },
	{ "supe;", "\342\212\207", ENT_PY | ENT_FTFY },
	{ "szlig", "\303\237", ENT_PY },
	{ "szlig;", "\303\237", ENT_PY | ENT_FTFY },
	{ "tau;", "\317\204", ENT_PY | ENT_FTFY },
	{ "there4;", "\342\210\264", ENT_PY | ENT_FTFY },
	{ "theta;", "\316\270", ENT_PY | ENT_FTFY },
	{ "thetasym;", "\317\221", ENT_PY | ENT_FTFY },
	{ "thinsp;", "\342\200\211", ENT_PY | ENT_FTFY },
	{ "thorn", "\303\276", ENT_PY },
	{ "thorn;", "\303\276", ENT_PY | ENT_FTFY },
	{ "tilde;", "\313\234", ENT_PY | ENT_FTFY },
	{ "times", "\303\227", ENT_PY },
	{ "times;", "\303\227", ENT_PY | ENT_FTFY },
	{ "trade;", "\342\204\242", ENT_PY | ENT_FTFY },
	{ "uArr;", "\342\207\221", ENT_PY | ENT_FTFY },
	{ "uacute", "\303\272", ENT_PY },
	{ "uacute;", "\303\272", ENT_PY | ENT_FTFY },
	{ "uarr;", "\342\206\221", ENT_PY | ENT_FTFY },
	{ "ucirc", "\303\273", ENT_PY },
	{ "ucirc;", "\303\273", ENT_PY | ENT_FTFY },
	{ "ugrave", "\303\271", ENT_PY },
	{ "ugrave;", "\303\271", ENT_PY | ENT_FTFY },
	{ "uml", "\302\250", ENT_PY },
	{ "uml;", "\302\250", ENT_PY | ENT_FTFY },
	{ "upsih;", "\317\222", ENT_PY | ENT_FTFY },
	{ "upsilon;", "\317\205", ENT_PY | ENT_FTFY },
	{ "uuml", "\303\274", ENT_PY },
	{ "uuml;", "\303\274", ENT_PY | ENT_FTFY },
	{ "weierp;", "\342\204\230", ENT_PY | ENT_FTFY },
	{ "xi;", "\316\276", ENT_PY | ENT_FTFY },
	{ "yacute", "\303\275", ENT_PY },
	{ "yacute;", "\303\275", ENT_PY | ENT_FTFY },
	{ "yen", "\302\245", ENT_PY },
	{ "yen;", "\302\245", ENT_PY | ENT_FTFY },
	{ "yuml", "\303\277", ENT_PY },
	{ "yuml;", "\303\277", ENT_PY | ENT_FTFY },
	{ "zeta;", "\316\266", ENT_PY | ENT_FTFY },
	{ "zwj;", "\342\200\215", ENT_PY | ENT_FTFY },
	{ "zwnj;", "\342\200\214", ENT_PY | ENT_FTFY },
};

/* ---- small helpers ---------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats an error message; one too long for err ends in "..." so the cut
 * is visible. */
static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	r = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (r >= 0 && (size_t)r >= errlen && errlen > 4)
		memcpy(err + errlen - 4, "...", 4);
}

static uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static uint64_t
hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* Smallest power of two >= 2n (load factor at most one half). */
static size_t
table_size(size_t n)
{
	size_t s = 16;

	while (s < 2 * n)
		s *= 2;
	return s;
}

/* A growable array of code points. */
struct cpvec {
	uint32_t *v;
	size_t n, cap;
};

static int
cp_reserve(struct cpvec *a, size_t extra)
{
	size_t ncap;
	uint32_t *p;

	if (extra > SIZE_MAX / 8 - a->n)
		return -1;
	if (a->n + extra <= a->cap)
		return 0;
	ncap = a->cap ? a->cap : 64;
	while (ncap < a->n + extra)
		ncap *= 2;
	p = realloc(a->v, ncap * sizeof(*p));
	if (p == NULL)
		return -1;
	a->v = p;
	a->cap = ncap;
	return 0;
}

static int
cp_push(struct cpvec *a, uint32_t c)
{
	if (cp_reserve(a, 1) != 0)
		return -1;
	a->v[a->n++] = c;
	return 0;
}

static int
cp_append(struct cpvec *a, const uint32_t *s, size_t n)
{
	if (cp_reserve(a, n) != 0)
		return -1;
	if (n > 0)
		memcpy(a->v + a->n, s, n * sizeof(*s));
	a->n += n;
	return 0;
}

/* Appends an ASCII/UTF-8 C string (only ever our own tables). */
static int cp_append_utf8(struct cpvec *a, const char *s, size_t n);

static void
cp_swap(struct cpvec *a, struct cpvec *b)
{
	struct cpvec t = *a;

	*a = *b;
	*b = t;
}

/* A growable array of ids. */
struct i32vec {
	int32_t *v;
	size_t n, cap;
};

static int
i32_push(struct i32vec *a, int32_t x)
{
	size_t ncap;
	int32_t *p;

	if (a->n == a->cap) {
		if (a->cap > SIZE_MAX / 8)
			return -1;
		ncap = a->cap ? a->cap * 2 : 64;
		p = realloc(a->v, ncap * sizeof(*p));
		if (p == NULL)
			return -1;
		a->v = p;
		a->cap = ncap;
	}
	a->v[a->n++] = x;
	return 0;
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* Decodes one character from s (n > 0 bytes), storing it in *cp and
 * returning the bytes used. An invalid sequence yields U+FFFD for its
 * maximal subpart, as Python's errors="replace" does. */
static size_t
decode_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t l = utf8_next(s, n, cp);

	if (*cp == UTF8_INVALID)
		*cp = 0xfffd;
	return l;
}

static int
decode_text(const char *text, size_t len, struct cpvec *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;
	uint32_t cp;

	out->n = 0;
	if (cp_reserve(out, len) != 0)
		return -1;
	while (i < len) {
		i += decode_next(s + i, len - i, &cp);
		out->v[out->n++] = cp;
	}
	return 0;
}

static int
cp_append_utf8(struct cpvec *a, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		i += decode_next(p + i, n - i, &cp);
		if (cp_push(a, cp) != 0)
			return -1;
	}
	return 0;
}

/* ---- vocabulary: token string <-> id ---------------------------------- */

/* A string's slot: its id (-1 = empty) and hash bits, which spare most
 * probes a visit to the arena. */
struct vocab_slot {
	int32_t id;
	uint32_t tag;
};

/* Token strings live in one arena; slot[] maps a string to its id by open
 * addressing (linear probing). */
struct vocab {
	struct buf arena;
	uint32_t *off, *len;	/* per id, into arena */
	size_t n, cap;		/* ids in use, room */
	struct vocab_slot *slot;
	size_t mask;
};

static void
vocab_free(struct vocab *v)
{
	buf_free(&v->arena);
	free(v->off);
	free(v->len);
	free(v->slot);
	memset(v, 0, sizeof(*v));
}

/* Prepares room for n ids and the lookup table. Returns 0 or -1. */
static int
vocab_init(struct vocab *v, size_t n, size_t arena_hint)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->cap = n;
	v->off = calloc(n ? n : 1, sizeof(*v->off));
	v->len = calloc(n ? n : 1, sizeof(*v->len));
	v->mask = table_size(n) - 1;
	v->slot = malloc((v->mask + 1) * sizeof(*v->slot));
	if (v->off == NULL || v->len == NULL || v->slot == NULL ||
	    buf_reserve(&v->arena, arena_hint) != 0)
		return -1;
	for (i = 0; i <= v->mask; i++)
		v->slot[i].id = -1;
	return 0;
}

static int32_t
vocab_get(const struct vocab *v, const char *s, size_t n)
{
	uint64_t h = hash_bytes(s, n);
	size_t i = h & v->mask;
	int32_t id;

	while ((id = v->slot[i].id) >= 0) {
		if (v->slot[i].tag == (uint32_t)(h >> 32) &&
		    v->len[id] == n &&
		    memcmp(v->arena.data + v->off[id], s, n) == 0)
			return id;
		i = (i + 1) & v->mask;
	}
	return -1;
}

/* Gives id the string s; a string that already had an id now maps to
 * this one (the reference builds a dict, so the later entry wins).
 * Returns 0 or -1 (out of memory or string too long). */
static int
vocab_set(struct vocab *v, int32_t id, const char *s, size_t n)
{
	uint64_t h = hash_bytes(s, n);
	size_t i;
	int32_t cur;

	if ((size_t)id >= v->cap || n > UINT32_MAX ||
	    v->arena.len > UINT32_MAX - n)
		return -1;
	v->off[id] = (uint32_t)v->arena.len;
	v->len[id] = (uint32_t)n;
	if (buf_append(&v->arena, s, n) != 0)
		return -1;
	if ((size_t)id >= v->n)
		v->n = (size_t)id + 1;
	i = h & v->mask;
	while ((cur = v->slot[i].id) >= 0) {
		if (v->slot[i].tag == (uint32_t)(h >> 32) &&
		    v->len[cur] == n &&
		    memcmp(v->arena.data + v->off[cur], s, n) == 0)
			break;
		i = (i + 1) & v->mask;
	}
	v->slot[i].id = id;
	v->slot[i].tag = (uint32_t)(h >> 32);
	return 0;
}

/* ---- merges: (left id, right id) -> rank and merged id ---------------- */

struct pairmap {
	uint64_t *key;		/* UINT64_MAX = empty */
	int32_t *rank, *merged;
	size_t mask;
};

static void
pairmap_free(struct pairmap *p)
{
	free(p->key);
	free(p->rank);
	free(p->merged);
	memset(p, 0, sizeof(*p));
}

static int
pairmap_init(struct pairmap *p, size_t n)
{
	size_t i;

	p->mask = table_size(n) - 1;
	p->key = malloc((p->mask + 1) * sizeof(*p->key));
	p->rank = malloc((p->mask + 1) * sizeof(*p->rank));
	p->merged = malloc((p->mask + 1) * sizeof(*p->merged));
	if (p->key == NULL || p->rank == NULL || p->merged == NULL)
		return -1;
	for (i = 0; i <= p->mask; i++)
		p->key[i] = UINT64_MAX;
	return 0;
}

static uint64_t
pair_key(int32_t a, int32_t b)
{
	return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

/* Sets the pair's rank; a pair seen again takes the later rank, as the
 * reference's dict does. */
static void
pairmap_set(struct pairmap *p, int32_t a, int32_t b, int32_t rank,
    int32_t merged)
{
	uint64_t k = pair_key(a, b);
	size_t i = hash_u64(k) & p->mask;

	while (p->key[i] != UINT64_MAX && p->key[i] != k)
		i = (i + 1) & p->mask;
	p->key[i] = k;
	p->rank[i] = rank;
	p->merged[i] = merged;
}

/* Returns the rank of the pair, or -1 when it is not a merge. */
static int32_t
pairmap_get(const struct pairmap *p, int32_t a, int32_t b, int32_t *merged)
{
	uint64_t k = pair_key(a, b);
	size_t i = hash_u64(k) & p->mask;

	while (p->key[i] != UINT64_MAX) {
		if (p->key[i] == k) {
			*merged = p->merged[i];
			return p->rank[i];
		}
		i = (i + 1) & p->mask;
	}
	return -1;
}

/* ---- word cache ------------------------------------------------------- */

struct cache_slot {
	uint64_t hash;
	uint32_t key_off, key_len, ids_off, ids_n;
	int used;
};

/* Word -> ids, shared by every caller of one tokenizer under a lock. */
struct word_cache {
	pthread_mutex_t lock;
	struct cache_slot *slot;
	size_t mask, count;
	struct buf keys;
	struct i32vec ids;
};

static void
cache_free(struct word_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->slot);
	buf_free(&c->keys);
	free(c->ids.v);
	free(c);
}

static struct word_cache *
cache_new(void)
{
	struct word_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->mask = table_size(CACHE_MAX_WORDS) - 1;
	c->slot = calloc(c->mask + 1, sizeof(*c->slot));
	if (c->slot == NULL) {
		cache_free(c);
		return NULL;
	}
	return c;
}

/* Appends the cached ids of word to out. Returns 1 when found, 0 when
 * not, -1 when memory runs out. */
static int
cache_get(struct word_cache *c, const char *w, size_t n, uint64_t h,
    struct i32vec *out)
{
	size_t i, k;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	for (i = h & c->mask; c->slot[i].used; i = (i + 1) & c->mask) {
		const struct cache_slot *s = &c->slot[i];

		if (s->hash != h || s->key_len != n ||
		    memcmp(c->keys.data + s->key_off, w, n) != 0)
			continue;
		rc = 1;
		for (k = 0; k < s->ids_n; k++)
			if (i32_push(out, c->ids.v[s->ids_off + k]) != 0) {
				rc = -1;
				break;
			}
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Remembers word -> ids[0..n_ids). A full cache starts again empty; a
 * failure to grow just leaves the word out (the cache is an
 * optimisation, never needed for a correct answer). */
static void
cache_put(struct word_cache *c, const char *w, size_t n, uint64_t h,
    const int32_t *ids, size_t n_ids)
{
	size_t i, k, keys_len, ids_len;

	if (n > CACHE_MAX_WORD_BYTES)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->count >= CACHE_MAX_WORDS) {
		memset(c->slot, 0, (c->mask + 1) * sizeof(*c->slot));
		c->count = 0;
		buf_reset(&c->keys);
		c->ids.n = 0;
	}
	for (i = h & c->mask; c->slot[i].used; i = (i + 1) & c->mask)
		if (c->slot[i].hash == h && c->slot[i].key_len == n &&
		    memcmp(c->keys.data + c->slot[i].key_off, w, n) == 0)
			goto out;	/* another thread was first */
	keys_len = c->keys.len;
	ids_len = c->ids.n;
	if (buf_append(&c->keys, w, n) != 0)
		goto out;
	for (k = 0; k < n_ids; k++)
		if (i32_push(&c->ids, ids[k]) != 0) {
			c->keys.len = keys_len;
			c->ids.n = ids_len;
			goto out;
		}
	c->slot[i].hash = h;
	c->slot[i].key_off = (uint32_t)keys_len;
	c->slot[i].key_len = (uint32_t)n;
	c->slot[i].ids_off = (uint32_t)ids_len;
	c->slot[i].ids_n = (uint32_t)n_ids;
	c->slot[i].used = 1;
	c->count++;
out:
	pthread_mutex_unlock(&c->lock);
}

/* ---- the tokenizer ---------------------------------------------------- */

struct clip_tokenizer {
	struct vocab vocab;
	struct pairmap merges;
	int32_t byte_id[256];		/* byte as a symbol inside a word */
	int32_t byte_end_id[256];	/* byte as the last symbol: "x</w>" */
	int32_t bos, eos;
	struct word_cache *cache;	/* mutable behind a const tokenizer */
};

/* bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the
 * others for U+0100 onwards, in byte order. Fills the character of every
 * byte and the order in which the reference lists them (its ids). */
static void
bytes_to_unicode(uint32_t chr[256], int order[256])
{
	int b, n = 0, k = 0;

	for (b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') ||
		    (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);

		if (printable) {
			chr[b] = (uint32_t)b;
			order[k++] = b;
		}
	}
	for (b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') ||
		    (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);

		if (!printable) {
			chr[b] = 256 + (uint32_t)n++;
			order[k++] = b;
		}
	}
}

void
clip_tokenizer_free(struct clip_tokenizer *tok)
{
	if (tok == NULL)
		return;
	vocab_free(&tok->vocab);
	pairmap_free(&tok->merges);
	cache_free(tok->cache);
	free(tok);
}

int32_t
clip_tokenizer_bos(const struct clip_tokenizer *tok)
{
	return tok->bos;
}

int32_t
clip_tokenizer_eos(const struct clip_tokenizer *tok)
{
	return tok->eos;
}

size_t
clip_tokenizer_vocab_size(const struct clip_tokenizer *tok)
{
	return tok->vocab.n;
}

int32_t
clip_tokenizer_lookup(const struct clip_tokenizer *tok, const char *token)
{
	return vocab_get(&tok->vocab, token, strlen(token));
}

/* Reads a file, gzip or plain (zlib reads both), into b: all of it, or
 * (max_lines > 0) at least its first max_lines lines when it has them,
 * since the OpenAI file holds five times more merges than CLIP uses. */
static int
read_file(const char *path, size_t max_lines, struct buf *b, char *err,
    size_t errlen)
{
	size_t lines = 0;
	const char *p, *end;
	gzFile f;
	int n, zerr;

	f = gzopen(path, "rb");
	if (f == NULL) {
		set_err(err, errlen, "%s: cannot open: %s", path,
		    errno ? strerror(errno) : "out of memory");
		return -1;
	}
	for (;;) {
		if (buf_reserve(b, 1 << 16) != 0) {
			gzclose(f);
			set_err(err, errlen, "%s: out of memory", path);
			return -1;
		}
		n = gzread(f, b->data + b->len, 1 << 16);
		if (n < 0) {
			set_err(err, errlen, "%s: %s", path,
			    gzerror(f, &zerr));
			gzclose(f);
			return -1;
		}
		if (n == 0)
			break;
		p = b->data + b->len;
		end = p + n;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (max_lines == 0)
			continue;
		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			p++;
		}
		if (lines >= max_lines) {
			gzclose(f);
			return 0;
		}
	}
	if (gzclose(f) != Z_OK) {
		set_err(err, errlen, "%s: read error (truncated gzip?)", path);
		return -1;
	}
	return 0;
}

/* One merge line split in two: "a b". */
struct merge_line {
	const char *a, *b;
	size_t alen, blen;
	size_t lineno;
};

/* Splits line (len bytes, no newline) on whitespace into exactly two
 * symbols. Returns 0, or -1 when it has another number of fields. */
static int
split_merge(const char *line, size_t len, struct merge_line *m)
{
	const char *f[3];
	size_t fl[3], nf = 0, i = 0;

	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t' ||
		    line[i] == '\r' || line[i] == '\v' || line[i] == '\f'))
			i++;
		if (i >= len)
			break;
		if (nf == 3)
			return -1;
		f[nf] = line + i;
		while (i < len && !(line[i] == ' ' || line[i] == '\t' ||
		    line[i] == '\r' || line[i] == '\v' || line[i] == '\f'))
			i++;
		fl[nf] = (size_t)(line + i - f[nf]);
		nf++;
	}
	if (nf != 2)
		return -1;
	m->a = f[0];
	m->alen = fl[0];
	m->b = f[1];
	m->blen = fl[1];
	return 0;
}

/* Splits text into merge lines after the header line. For the OpenAI file
 * (cap > 0) exactly cap merges must follow; for merges.txt (cap 0) every
 * non-empty line is one. Stores a malloc'd array in *out. */
static int
parse_merges(const char *path, char *text, size_t len, size_t cap,
    struct merge_line **out, size_t *n_out, char *err, size_t errlen)
{
	struct merge_line *m = NULL;
	size_t n = 0, room = 0, lineno = 0, pos = 0;
	int rc = -1;

	while (pos < len && (cap == 0 || n < cap)) {
		char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t l = end - pos;

		lineno++;
		if (lineno == 1) {
			/* The header: "#version: 0.2" (the OpenAI file has
			 * its name in front). merges.txt without one starts
			 * with a merge. */
			if (cap > 0 || memmem(text + pos, l, "#version", 8)) {
				pos = end + 1;
				continue;
			}
		}
		if (l > 0 && text[pos + l - 1] == '\r')
			l--;
		if (l == 0 && cap == 0) {
			pos = end + 1;
			continue;
		}
		if (n == room) {
			struct merge_line *p;

			room = room ? room * 2 : 65536;
			p = realloc(m, room * sizeof(*m));
			if (p == NULL) {
				set_err(err, errlen, "%s: out of memory", path);
				goto out;
			}
			m = p;
		}
		m[n].lineno = lineno;
		if (split_merge(text + pos, l, &m[n]) != 0) {
			set_err(err, errlen, "%s:%zu: expected two symbols "
			    "separated by a space", path, lineno);
			goto out;
		}
		n++;
		pos = end + 1;
	}
	if (cap > 0 && n < cap) {
		set_err(err, errlen, "%s: only %zu merges, expected %zu "
		    "(truncated file?)", path, n, cap);
		goto out;
	}
	if (n == 0) {
		set_err(err, errlen, "%s: no merges", path);
		goto out;
	}
	*out = m;
	*n_out = n;
	m = NULL;
	rc = 0;
out:
	free(m);
	return rc;
}

/* Looks up the ids of a merge's symbols and of their concatenation, and
 * records the pair. Returns 0, or -1 when one is not in the vocabulary. */
static int
add_merge(struct clip_tokenizer *tok, const struct merge_line *m,
    int32_t rank, struct buf *tmp, const char *path, const char *vocab_name,
    char *err, size_t errlen)
{
	int32_t a, b, ab;

	a = vocab_get(&tok->vocab, m->a, m->alen);
	b = vocab_get(&tok->vocab, m->b, m->blen);
	buf_reset(tmp);
	if (buf_append(tmp, m->a, m->alen) != 0 ||
	    buf_append(tmp, m->b, m->blen) != 0) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	ab = vocab_get(&tok->vocab, tmp->data, tmp->len);
	if (a < 0 || b < 0 || ab < 0) {
		const char *s = a < 0 ? m->a : b < 0 ? m->b : tmp->data;
		int sl = (int)(a < 0 ? m->alen : b < 0 ? m->blen : tmp->len);

		set_err(err, errlen, "%s:%zu: token '%.*s' is not in %s",
		    path, m->lineno, sl > 64 ? 64 : sl, s, vocab_name);
		return -1;
	}
	pairmap_set(&tok->merges, a, b, rank, ab);
	return 0;
}

/* Finds the byte symbols and the special tokens; every well-formed CLIP
 * vocabulary has them, and tokenizing relies on it. */
static int
find_byte_ids(struct clip_tokenizer *tok, const char *path, char *err,
    size_t errlen)
{
	uint32_t chr[256];
	int order[256], b;
	unsigned char s[8];
	size_t l;

	bytes_to_unicode(chr, order);
	for (b = 0; b < 256; b++) {
		l = utf8_put(chr[b], s);
		tok->byte_id[b] = vocab_get(&tok->vocab, (char *)s, l);
		memcpy(s + l, "</w>", 4);
		tok->byte_end_id[b] = vocab_get(&tok->vocab, (char *)s,
		    l + 4);
		if (tok->byte_id[b] < 0 || tok->byte_end_id[b] < 0) {
			set_err(err, errlen, "%s: the vocabulary lacks the "
			    "symbol for byte 0x%02x", path, b);
			return -1;
		}
	}
	tok->bos = vocab_get(&tok->vocab, "<|startoftext|>", 15);
	tok->eos = vocab_get(&tok->vocab, "<|endoftext|>", 13);
	if (tok->bos < 0 || tok->eos < 0) {
		set_err(err, errlen, "%s: the vocabulary lacks "
		    "<|startoftext|> or <|endoftext|>", path);
		return -1;
	}
	return 0;
}

/* The OpenAI file: the vocabulary is the 256 byte symbols, the same with
 * "</w>", every merge joined, then the two special tokens. */
static int
load_gz(struct clip_tokenizer *tok, const char *path, char *err,
    size_t errlen)
{
	struct buf text = { 0 }, tmp = { 0 };
	struct merge_line *m = NULL;
	size_t n = 0, i;
	uint32_t chr[256];
	int order[256], rc = -1;
	unsigned char s[8];
	size_t l;
	int32_t id = 0;

	if (read_file(path, GZ_MERGES + 1, &text, err, errlen) != 0)
		goto out;
	if (parse_merges(path, text.data, text.len, GZ_MERGES, &m, &n, err,
	    errlen) != 0)
		goto out;
	if (vocab_init(&tok->vocab, 512 + n + 2, text.len) != 0 ||
	    pairmap_init(&tok->merges, n) != 0)
		goto oom;
	bytes_to_unicode(chr, order);
	for (i = 0; i < 256; i++) {
		l = utf8_put(chr[order[i]], s);
		if (vocab_set(&tok->vocab, id++, (char *)s, l) != 0)
			goto oom;
	}
	for (i = 0; i < 256; i++) {
		l = utf8_put(chr[order[i]], s);
		memcpy(s + l, "</w>", 4);
		if (vocab_set(&tok->vocab, id++, (char *)s, l + 4) != 0)
			goto oom;
	}
	for (i = 0; i < n; i++) {
		buf_reset(&tmp);
		if (buf_append(&tmp, m[i].a, m[i].alen) != 0 ||
		    buf_append(&tmp, m[i].b, m[i].blen) != 0 ||
		    vocab_set(&tok->vocab, id++, tmp.data, tmp.len) != 0)
			goto oom;
	}
	if (vocab_set(&tok->vocab, id++, "<|startoftext|>", 15) != 0 ||
	    vocab_set(&tok->vocab, id++, "<|endoftext|>", 13) != 0)
		goto oom;
	/* Only now is every string's final id known. */
	for (i = 0; i < n; i++)
		if (add_merge(tok, &m[i], (int32_t)i, &tmp, path,
		    "the vocabulary", err, errlen) != 0)
			goto out;
	if (find_byte_ids(tok, path, err, errlen) != 0)
		goto out;
	rc = 0;
	goto out;
oom:
	set_err(err, errlen, "%s: out of memory", path);
out:
	free(m);
	buf_free(&text);
	buf_free(&tmp);
	return rc;
}

/* The tokenizer folder: vocab.json maps each token to its id (0..N-1, each
 * once), merges.txt lists the merges after a "#version" line. */
static int
load_hf(struct clip_tokenizer *tok, const char *vocab_path,
    const char *merges_path, char *err, size_t errlen)
{
	struct buf text = { 0 }, tmp = { 0 };
	struct merge_line *m = NULL;
	json_tokener *jt = NULL;
	json_object *root = NULL;
	size_t n = 0, i, count;
	char *seen = NULL;
	int rc = -1;

	if (read_file(vocab_path, 0, &text, err, errlen) != 0)
		goto out;
	jt = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (jt == NULL)
		goto oom;
	if (text.len > INT32_MAX) {
		set_err(err, errlen, "%s: too large", vocab_path);
		goto out;
	}
	root = json_tokener_parse_ex(jt, text.data, (int)text.len);
	if (root == NULL ||
	    json_tokener_get_error(jt) != json_tokener_success) {
		set_err(err, errlen, "%s: not valid JSON (%s)", vocab_path,
		    json_tokener_error_desc(json_tokener_get_error(jt)));
		goto out;
	}
	if (json_tokener_get_parse_end(jt) < text.len &&
	    strspn(text.data + json_tokener_get_parse_end(jt), " \t\r\n") !=
	    text.len - json_tokener_get_parse_end(jt)) {
		set_err(err, errlen, "%s: trailing data after the JSON object",
		    vocab_path);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		set_err(err, errlen, "%s: expected a JSON object mapping "
		    "tokens to ids", vocab_path);
		goto out;
	}
	count = (size_t)json_object_object_length(root);
	if (count == 0 || count > MAX_VOCAB) {
		set_err(err, errlen, "%s: %zu entries; expected 1 to %d",
		    vocab_path, count, MAX_VOCAB);
		goto out;
	}
	seen = calloc(count, 1);
	if (seen == NULL || vocab_init(&tok->vocab, count, text.len) != 0)
		goto oom;
	{
		json_object_iter it;

		json_object_object_foreachC(root, it) {
			int64_t id;

			if (!json_object_is_type(it.val, json_type_int) ||
			    (id = json_object_get_int64(it.val)) < 0 ||
			    (uint64_t)id >= count) {
				set_err(err, errlen, "%s: the id of '%.64s' is "
				    "not an integer in 0..%zu", vocab_path,
				    it.key, count - 1);
				goto out;
			}
			if (seen[id]) {
				set_err(err, errlen, "%s: id %lld is given to "
				    "more than one token", vocab_path,
				    (long long)id);
				goto out;
			}
			seen[id] = 1;
			if (vocab_set(&tok->vocab, (int32_t)id, it.key,
			    strlen(it.key)) != 0)
				goto oom;
		}
	}
	buf_free(&text);
	if (read_file(merges_path, 0, &text, err, errlen) != 0)
		goto out;
	if (parse_merges(merges_path, text.data, text.len, 0, &m, &n, err,
	    errlen) != 0)
		goto out;
	if (pairmap_init(&tok->merges, n) != 0)
		goto oom;
	for (i = 0; i < n; i++)
		if (add_merge(tok, &m[i], (int32_t)i, &tmp, merges_path,
		    "vocab.json", err, errlen) != 0)
			goto out;
	if (find_byte_ids(tok, vocab_path, err, errlen) != 0)
		goto out;
	rc = 0;
	goto out;
oom:
	set_err(err, errlen, "%s: out of memory", vocab_path);
out:
	json_object_put(root);
	if (jt != NULL)
		json_tokener_free(jt);
	free(seen);
	free(m);
	buf_free(&text);
	buf_free(&tmp);
	return rc;
}

static int
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

struct clip_tokenizer *
clip_tokenizer_load(const char *path, char *err, size_t errlen)
{
	struct clip_tokenizer *tok = NULL;
	struct buf p1 = { 0 }, p2 = { 0 };
	struct stat st;
	int rc = -1;

	if (stat(path, &st) != 0) {
		set_err(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	tok = calloc(1, sizeof(*tok));
	if (tok == NULL || (tok->cache = cache_new()) == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = load_gz(tok, path, err, errlen);
		goto out;
	}
	if (buf_printf(&p1, "%s/vocab.json", path) != 0 ||
	    buf_printf(&p2, "%s/merges.txt", path) != 0) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (file_exists(p1.data) || file_exists(p2.data)) {
		rc = load_hf(tok, p1.data, p2.data, err, errlen);
		goto out;
	}
	buf_reset(&p1);
	if (buf_printf(&p1, "%s/bpe_simple_vocab_16e6.txt.gz", path) != 0) {
		set_err(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (file_exists(p1.data)) {
		rc = load_gz(tok, p1.data, err, errlen);
		goto out;
	}
	set_err(err, errlen, "%s: neither vocab.json + merges.txt nor "
	    "bpe_simple_vocab_16e6.txt.gz in this folder", path);
out:
	buf_free(&p1);
	buf_free(&p2);
	if (rc != 0) {
		clip_tokenizer_free(tok);
		return NULL;
	}
	return tok;
}

/* ---- text cleaning ---------------------------------------------------- */

/* Python's str.isspace(): Unicode White_Space plus U+001C..U+001F. */
static int
py_isspace(uint32_t c)
{
	return (c >= 0x1c && c <= 0x1f) || uc_is_property_white_space(c);
}

static int
entity_cmp(const void *key, const void *elem)
{
	const struct entity *e = elem;

	return strcmp(key, e->name);
}

/* Finds name (NUL-terminated, with its ';' if any) among the entities
 * with the given flag. */
static const struct entity *
entity_find(const char *name, int flag)
{
	const struct entity *e = bsearch(name, entities, ARRAY_LEN(entities),
	    sizeof(entities[0]), entity_cmp);

	return e != NULL && (e->flags & flag) ? e : NULL;
}

/* Code points html.unescape turns into nothing. */
static int
invalid_codepoint(uint32_t c)
{
	return (c >= 0x1 && c <= 0x8) || c == 0xb ||
	    (c >= 0xe && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
	    (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

/* Windows-1252 for 0x80..0x9f; the five holes stand for themselves. */
static const uint16_t cp1252[32] = {
	0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
};

static int
is_ascii_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

static int
hex_value(uint32_t c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (int)(c - 'A' + 10);
	return -1;
}

/* Python's html.unescape over s[0..n), appending to out: numeric
 * references (with its table of invalid ones) and named ones, including
 * the longest legacy name at the front of an unknown one. */
static int
py_unescape(const uint32_t *s, size_t n, struct cpvec *out)
{
	size_t i = 0, j, k;

	while (i < n) {
		if (s[i] != '&' || i + 1 >= n) {
			if (cp_push(out, s[i++]) != 0)
				return -1;
			continue;
		}
		j = i + 1;
		if (s[j] == '#') {
			uint64_t v = 0;
			int hex = 0, any = 0;

			j++;
			if (j < n && (s[j] == 'x' || s[j] == 'X')) {
				hex = 1;
				j++;
			}
			while (j < n && (hex ? hex_value(s[j]) >= 0 :
			    is_ascii_digit(s[j]))) {
				v = v * (hex ? 16 : 10) + (uint64_t)(hex ?
				    hex_value(s[j]) : (int)(s[j] - '0'));
				if (v > 0x110000)
					v = 0x110000;	/* saturate */
				any = 1;
				j++;
			}
			if (!any) {	/* "&#" or "&#x" alone: text */
				if (cp_push(out, s[i++]) != 0)
					return -1;
				continue;
			}
			if (j < n && s[j] == ';')
				j++;
			i = j;
			if (v == 0)
				v = 0xfffd;
			else if (v == 0xd)
				;
			else if (v >= 0x80 && v <= 0x9f)
				v = cp1252[v - 0x80];
			else if ((v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
				v = 0xfffd;
			else if (invalid_codepoint((uint32_t)v))
				continue;
			if (cp_push(out, (uint32_t)v) != 0)
				return -1;
			continue;
		}
		/* A name: up to 32 characters other than \t\n\f, space,
		 * <, &, #, ';', then an optional ';'. */
		for (k = 0; j + k < n && k < 32; k++) {
			uint32_t c = s[j + k];

			if (c == '\t' || c == '\n' || c == '\f' || c == ' ' ||
			    c == '<' || c == '&' || c == '#' || c == ';')
				break;
		}
		if (k == 0) {
			if (cp_push(out, s[i++]) != 0)
				return -1;
			continue;
		}
		{
			char name[40];
			size_t nl = 0, x, full = k;
			const struct entity *e = NULL;
			int ascii = 1;

			for (x = 0; x < k; x++) {
				if (s[j + x] > 0x7e)
					ascii = 0;
				name[nl++] = (char)s[j + x];
			}
			if (j + k < n && s[j + k] == ';') {
				name[nl++] = ';';
				full++;
			}
			name[nl] = '\0';
			/* Entity names are ASCII; an other character can
			 * still end a legacy prefix ("&ampé"). */
			if (ascii)
				e = entity_find(name, ENT_PY);
			if (e != NULL) {
				if (cp_append_utf8(out, e->value,
				    strlen(e->value)) != 0)
					return -1;
				i = j + full;
				continue;
			}
			for (x = full - 1; x >= 2; x--) {
				size_t y;
				int ok = 1;

				for (y = 0; y < x; y++)
					if (s[j + y] > 0x7e)
						ok = 0;
				if (!ok)
					continue;
				name[x] = '\0';
				e = entity_find(name, ENT_PY);
				if (e != NULL)
					break;
			}
			if (e != NULL) {
				if (cp_append_utf8(out, e->value,
				    strlen(e->value)) != 0 ||
				    cp_append(out, s + j + x, full - x) != 0)
					return -1;
			} else if (cp_append(out, s + i, 1 + full) != 0) {
				return -1;
			}
			i = j + full;
		}
	}
	return 0;
}

/* ftfy's unescape_html: "&name;" from its table, or a numeric reference
 * that html.unescape resolves to something without ';'. */
static int
ftfy_unescape(const uint32_t *s, size_t n, struct cpvec *out)
{
	struct cpvec tmp = { 0 };
	size_t i = 0, j, k;
	int rc = -1;

	while (i < n) {
		int num = 0;

		if (s[i] != '&') {
			if (cp_push(out, s[i++]) != 0)
				goto out;
			continue;
		}
		j = i + 1;
		if (j < n && s[j] == '#') {
			num = 1;
			j++;
		}
		for (k = 0; j + k < n && k <= 24; k++) {
			uint32_t c = s[j + k];

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z')))
				break;
		}
		if (k == 0 || k > 24 || j + k >= n || s[j + k] != ';') {
			if (cp_push(out, s[i++]) != 0)
				goto out;
			continue;
		}
		if (num) {
			size_t x;
			int semi = 0;

			tmp.n = 0;
			if (py_unescape(s + i, j + k + 1 - i, &tmp) != 0)
				goto out;
			for (x = 0; x < tmp.n; x++)
				if (tmp.v[x] == ';')
					semi = 1;
			if (semi ? cp_append(out, s + i, j + k + 1 - i) :
			    cp_append(out, tmp.v, tmp.n))
				goto out;
		} else {
			char name[32];
			const struct entity *e;
			size_t x;

			for (x = 0; x < k; x++)
				name[x] = (char)s[j + x];
			name[k] = ';';
			name[k + 1] = '\0';
			e = entity_find(name, ENT_FTFY);
			if (e != NULL ? cp_append_utf8(out, e->value,
			    strlen(e->value)) :
			    cp_append(out, s + i, j + k + 1 - i))
				goto out;
		}
		i = j + k + 1;
	}
	rc = 0;
out:
	free(tmp.v);
	return rc;
}

/* ftfy's character-level fixes that need no guessing, in its order:
 * C1 controls as Windows-1252, Latin ligatures, full/half width forms,
 * curly quotes, terminal escapes, control characters. */
static int
ftfy_chars(const uint32_t *s, size_t n, struct cpvec *out)
{
	static const struct {
		uint32_t c;
		const char *to;
	} lig[] = {
		{ 0x132, "IJ" }, { 0x133, "ij" }, { 0x149, "\312\274n" },
		{ 0x1c4, "D\305\275" }, { 0x1c5, "D\305\276" },
		{ 0x1c6, "d\305\276" }, { 0x1c7, "LJ" }, { 0x1c8, "Lj" },
		{ 0x1c9, "lj" }, { 0x1ca, "NJ" }, { 0x1cb, "Nj" },
		{ 0x1cc, "nj" }, { 0x1f1, "DZ" }, { 0x1f2, "Dz" },
		{ 0x1f3, "dz" }, { 0xfb00, "ff" }, { 0xfb01, "fi" },
		{ 0xfb02, "fl" }, { 0xfb03, "ffi" }, { 0xfb04, "ffl" },
		{ 0xfb05, "\305\277t" }, { 0xfb06, "st" },
	};
	struct cpvec a = { 0 }, b = { 0 };
	size_t i, k;
	int rc = -1;

	/* C1 controls and ligatures. */
	for (i = 0; i < n; i++) {
		uint32_t c = s[i];
		int done = 0;

		if (c >= 0x80 && c <= 0x9f)
			c = cp1252[c - 0x80];
		for (k = 0; k < ARRAY_LEN(lig) && c >= 0x132; k++)
			if (lig[k].c == c) {
				if (cp_append_utf8(&a, lig[k].to,
				    strlen(lig[k].to)) != 0)
					goto out;
				done = 1;
				break;
			}
		if (!done && cp_push(&a, c) != 0)
			goto out;
	}
	/* Width, then quotes. */
	for (i = 0; i < a.n; i++) {
		uint32_t c = a.v[i];

		if (c == 0x3000) {
			c = ' ';
		} else if (c >= 0xff01 && c < 0xfff0) {
			uint32_t buf[8], *r;
			size_t rl = ARRAY_LEN(buf);

			r = u32_normalize(UNINORM_NFKC, &c, 1, buf, &rl);
			if (r == NULL)
				goto out;
			for (k = 0; k < rl; k++) {
				uint32_t d = r[k];

				if (d == 0x2bc || (d >= 0x2018 && d <= 0x201b))
					d = '\'';
				else if (d >= 0x201c && d <= 0x201f)
					d = '"';
				if (cp_push(&b, d) != 0) {
					if (r != buf)
						free(r);
					goto out;
				}
			}
			if (r != buf)
				free(r);
			continue;
		}
		if (c == 0x2bc || (c >= 0x2018 && c <= 0x201b))
			c = '\'';
		else if (c >= 0x201c && c <= 0x201f)
			c = '"';
		if (cp_push(&b, c) != 0)
			goto out;
	}
	/* Terminal escapes ESC [ (digits|;)* letter, and control characters
	 * (C0 except \t \n \f \r, DEL, U+206A..206F, BOM, U+FFF9..FFFC). */
	for (i = 0; i < b.n; i++) {
		uint32_t c = b.v[i];

		if (c == 0x1b && i + 1 < b.n && b.v[i + 1] == '[') {
			for (k = i + 2; k < b.n && (b.v[k] == ';' ||
			    uc_is_general_category(b.v[k], UC_DECIMAL_DIGIT_NUMBER));
			    k++)
				;
			if (k < b.n && b.v[k] < 0x80 &&
			    ((b.v[k] | 0x20) >= 'a' && (b.v[k] | 0x20) <= 'z')) {
				i = k;
				continue;
			}
		}
		if (c <= 8 || c == 0xb || (c >= 0xe && c <= 0x1f) ||
		    c == 0x7f || (c >= 0x206a && c <= 0x206f) ||
		    c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc))
			continue;
		if (cp_push(out, c) != 0)
			goto out;
	}
	rc = 0;
out:
	free(a.v);
	free(b.v);
	return rc;
}

static int
cp_equal(const struct cpvec *a, const struct cpvec *b)
{
	return a->n == b->n &&
	    (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

/* One line of ftfy.fix_text: the fixes again and again until nothing
 * changes (each round either shrinks an entity or changes nothing). */
static int
ftfy_segment(struct cpvec *seg, int unescape)
{
	struct cpvec prev = { 0 }, t = { 0 };
	uint32_t *r;
	size_t rl;
	int rc = -1;

	for (;;) {
		prev.n = 0;
		if (cp_append(&prev, seg->v, seg->n) != 0)
			goto out;
		if (unescape) {
			t.n = 0;
			if (ftfy_unescape(seg->v, seg->n, &t) != 0)
				goto out;
			cp_swap(seg, &t);
		}
		t.n = 0;
		if (ftfy_chars(seg->v, seg->n, &t) != 0)
			goto out;
		cp_swap(seg, &t);
		if (seg->n > 0) {
			rl = 0;
			r = u32_normalize(UNINORM_NFC, seg->v, seg->n, NULL,
			    &rl);
			if (r == NULL)
				goto out;
			free(seg->v);
			seg->v = r;
			seg->n = seg->cap = rl;
		}
		if (cp_equal(seg, &prev))
			break;
	}
	rc = 0;
out:
	free(prev.v);
	free(t.v);
	return rc;
}

/* ftfy.fix_text: line by line; once a line holds '<' (HTML markup), HTML
 * entities are left alone from there on, as ftfy does. */
static int
ftfy_fix(struct cpvec *text)
{
	struct cpvec out = { 0 }, seg = { 0 };
	size_t pos = 0, end, i;
	int unescape = 1, rc = -1;

	while (pos < text->n) {
		for (end = pos; end < text->n && text->v[end] != '\n'; end++)
			;
		if (end < text->n)
			end++;
		for (i = pos; i < end; i++)
			if (text->v[i] == '<')
				unescape = 0;
		seg.n = 0;
		if (cp_append(&seg, text->v + pos, end - pos) != 0 ||
		    ftfy_segment(&seg, unescape) != 0 ||
		    cp_append(&out, seg.v, seg.n) != 0)
			goto out;
		pos = end;
	}
	cp_swap(text, &out);
	rc = 0;
out:
	free(out.v);
	free(seg.v);
	return rc;
}

/* Python's str.lower(): the simple mapping, U+0130 to "i" + U+0307 (the
 * one unconditional special case), and capital sigma as final sigma when
 * a cased letter comes before it and none after (case-ignorable ones
 * skipped). libunistring's u32_tolower judges that context differently
 * around apostrophes, hence our own loop. */
static int
py_lower(const uint32_t *s, size_t n, struct cpvec *out)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		uint32_t c = s[i];
		int final;

		if (c == 0x130) {
			if (cp_push(out, 'i') != 0 || cp_push(out, 0x307) != 0)
				return -1;
			continue;
		}
		if (c != 0x3a3) {
			if (cp_push(out, uc_tolower(c)) != 0)
				return -1;
			continue;
		}
		for (j = i; j > 0 &&
		    uc_is_property_case_ignorable(s[j - 1]); j--)
			;
		final = j > 0 && uc_is_property_cased(s[j - 1]);
		for (j = i + 1; final && j < n &&
		    uc_is_property_case_ignorable(s[j]); j++)
			;
		if (final && j < n && uc_is_property_cased(s[j]))
			final = 0;
		if (cp_push(out, final ? 0x3c2 : 0x3c3) != 0)
			return -1;
	}
	return 0;
}

/* basic_clean + whitespace_clean + lower(): ftfy, html.unescape twice,
 * strip, runs of whitespace to one space, Unicode lower case. */
static int
clean_text(struct cpvec *text)
{
	struct cpvec t = { 0 };
	size_t a, b, i;
	int plain = 1, rc = -1;

	/* Printable ASCII without '&' is what most prompts are: neither ftfy
	 * nor html.unescape would change it. */
	for (i = 0; i < text->n && plain; i++)
		plain = (text->v[i] >= 0x20 && text->v[i] < 0x7f &&
		    text->v[i] != '&') || text->v[i] == '\t' ||
		    text->v[i] == '\n' || text->v[i] == '\f' ||
		    text->v[i] == '\r';
	if (!plain && ftfy_fix(text) != 0)
		goto out;
	for (i = 0; i < 2 && !plain; i++) {
		t.n = 0;
		if (py_unescape(text->v, text->n, &t) != 0)
			goto out;
		cp_swap(text, &t);
	}
	a = 0;
	b = text->n;
	while (a < b && py_isspace(text->v[a]))
		a++;
	while (b > a && py_isspace(text->v[b - 1]))
		b--;
	t.n = 0;
	for (i = a; i < b; i++) {
		if (uc_is_property_white_space(text->v[i])) {
			while (i + 1 < b &&
			    uc_is_property_white_space(text->v[i + 1]))
				i++;
			if (cp_push(&t, ' ') != 0)
				goto out;
		} else if (cp_push(&t, text->v[i]) != 0) {
			goto out;
		}
	}
	text->n = 0;
	if (py_lower(t.v, t.n, text) != 0)
		goto out;
	rc = 0;
out:
	free(t.v);
	return rc;
}

/* ---- splitting and BPE ------------------------------------------------ */

static int
is_letter(uint32_t c)
{
	return uc_is_general_category(c, UC_CATEGORY_L);
}

static int
is_number(uint32_t c)
{
	return uc_is_general_category(c, UC_CATEGORY_N);
}

/* The pattern is case-insensitive; after lower() only U+017F (long s)
 * still folds onto an ASCII letter it names. */
static uint32_t
fold(uint32_t c)
{
	return c == 0x17f ? 's' : c;
}

static int
match_ascii(const uint32_t *s, size_t n, const char *lit)
{
	size_t i, l = strlen(lit);

	if (l > n)
		return 0;
	for (i = 0; i < l; i++)
		if (fold(s[i]) != (unsigned char)lit[i])
			return 0;
	return 1;
}

/* Length of the piece CLIP's pattern matches at s[0..n), or 0 when none
 * does there (whitespace, and U+0345, which the regex module's
 * case-insensitive classes leave out of all three):
 * <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
 * [^\s\p{L}\p{N}]+ */
static size_t
match_piece(const uint32_t *s, size_t n)
{
	static const char *const lits[] = {
		"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve",
		"'m", "'ll", "'d",
	};
	size_t i, k;

	for (k = 0; k < ARRAY_LEN(lits); k++)
		if (match_ascii(s, n, lits[k]))
			return strlen(lits[k]);
	if (is_letter(s[0])) {
		for (i = 1; i < n && is_letter(s[i]); i++)
			;
		return i;
	}
	if (is_number(s[0]))
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] == 0x345 || uc_is_property_white_space(s[i]) ||
		    is_letter(s[i]) || is_number(s[i]))
			break;
	return i;
}

struct heap_ent {
	int32_t rank, pos, left, right;
};

/* Reusable memory for one clip_tokenize call. */
struct scratch {
	int32_t *id, *prev, *next, *changed;
	size_t nodes;
	struct heap_ent *heap;
	size_t heap_n, heap_cap;
	struct buf word;
};

static void
scratch_free(struct scratch *s)
{
	free(s->id);
	free(s->prev);
	free(s->next);
	free(s->changed);
	free(s->heap);
	buf_free(&s->word);
}

static int
heap_less(const struct heap_ent *a, const struct heap_ent *b)
{
	return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static int
heap_push(struct scratch *s, struct heap_ent e)
{
	size_t i, p;

	if (s->heap_n == s->heap_cap) {
		size_t ncap = s->heap_cap ? s->heap_cap * 2 : 64;
		struct heap_ent *h;

		if (ncap > SIZE_MAX / sizeof(*h))
			return -1;
		h = realloc(s->heap, ncap * sizeof(*h));
		if (h == NULL)
			return -1;
		s->heap = h;
		s->heap_cap = ncap;
	}
	i = s->heap_n++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!heap_less(&e, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = e;
	return 0;
}

static struct heap_ent
heap_pop(struct scratch *s)
{
	struct heap_ent top = s->heap[0], last = s->heap[--s->heap_n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < s->heap_n) {
		if (c + 1 < s->heap_n && heap_less(&s->heap[c + 1],
		    &s->heap[c]))
			c++;
		if (!heap_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->heap_n > 0)
		s->heap[i] = last;
	return top;
}

/* Queues the pair starting at node a if it is a merge. */
static int
push_pair(const struct clip_tokenizer *tok, struct scratch *s, int32_t a)
{
	struct heap_ent e;
	int32_t merged, b;

	if (a < 0 || (b = s->next[a]) < 0)
		return 0;
	e.rank = pairmap_get(&tok->merges, s->id[a], s->id[b], &merged);
	if (e.rank < 0)
		return 0;
	e.pos = a;
	e.left = s->id[a];
	e.right = s->id[b];
	return heap_push(s, e);
}

/* BPE of one piece (its UTF-8 bytes), appending ids to out. Like the
 * reference, each round takes the lowest-ranked pair present and merges
 * every occurrence left to right before looking again. */
static int
bpe_word(const struct clip_tokenizer *tok, struct scratch *s,
    const unsigned char *w, size_t n, struct i32vec *out)
{
	size_t i, nch;
	int32_t p;

	if (n > INT32_MAX)
		return -1;
	if (n > s->nodes) {
		int32_t *a = realloc(s->id, n * sizeof(*a));

		if (a == NULL)
			return -1;
		s->id = a;
		if ((a = realloc(s->prev, n * sizeof(*a))) == NULL)
			return -1;
		s->prev = a;
		if ((a = realloc(s->next, n * sizeof(*a))) == NULL)
			return -1;
		s->next = a;
		if ((a = realloc(s->changed, n * sizeof(*a))) == NULL)
			return -1;
		s->changed = a;
		s->nodes = n;
	}
	for (i = 0; i < n; i++) {
		s->id[i] = i + 1 < n ? tok->byte_id[w[i]] :
		    tok->byte_end_id[w[i]];
		s->prev[i] = (int32_t)i - 1;
		s->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
	}
	s->heap_n = 0;
	for (i = 0; i + 1 < n; i++)
		if (push_pair(tok, s, (int32_t)i) != 0)
			return -1;
	while (s->heap_n > 0) {
		int32_t rank = s->heap[0].rank;

		nch = 0;
		while (s->heap_n > 0 && s->heap[0].rank == rank) {
			struct heap_ent e = heap_pop(s);
			int32_t b, merged;

			/* Entries go stale when a neighbour merged. */
			if (s->id[e.pos] != e.left || (b = s->next[e.pos]) < 0 ||
			    s->id[b] != e.right)
				continue;
			pairmap_get(&tok->merges, e.left, e.right, &merged);
			s->id[e.pos] = merged;
			s->next[e.pos] = s->next[b];
			if (s->next[b] >= 0)
				s->prev[s->next[b]] = e.pos;
			s->id[b] = -1;	/* dead: no entry can match it */
			s->changed[nch++] = e.pos;
		}
		for (i = 0; i < nch; i++)
			if (push_pair(tok, s, s->prev[s->changed[i]]) != 0 ||
			    push_pair(tok, s, s->changed[i]) != 0)
				return -1;
	}
	for (p = 0; p >= 0; p = s->next[p])
		if (i32_push(out, s->id[p]) != 0)
			return -1;
	return 0;
}

/* Tokenizes one piece, through the cache. */
static int
encode_piece(const struct clip_tokenizer *tok, struct scratch *s,
    const uint32_t *cp, size_t n, struct i32vec *out)
{
	unsigned char u8[4];
	size_t i, before;
	uint64_t h;
	int r;

	buf_reset(&s->word);
	for (i = 0; i < n; i++)
		if (buf_append(&s->word, u8, utf8_put(cp[i], u8)) != 0)
			return -1;
	if (s->word.len == 15 &&
	    memcmp(s->word.data, "<|startoftext|>", 15) == 0)
		return i32_push(out, tok->bos);
	if (s->word.len == 13 &&
	    memcmp(s->word.data, "<|endoftext|>", 13) == 0)
		return i32_push(out, tok->eos);
	h = hash_bytes(s->word.data, s->word.len);
	r = cache_get(tok->cache, s->word.data, s->word.len, h, out);
	if (r != 0)
		return r < 0 ? -1 : 0;
	before = out->n;
	if (bpe_word(tok, s, (unsigned char *)s->word.data, s->word.len,
	    out) != 0)
		return -1;
	cache_put(tok->cache, s->word.data, s->word.len, h, out->v + before,
	    out->n - before);
	return 0;
}

int
clip_tokenize(const struct clip_tokenizer *tok, const char *text,
    size_t len, int32_t **ids, size_t *n)
{
	struct cpvec t = { 0 };
	struct i32vec out = { 0 };
	struct scratch s = { 0 };
	size_t i, l;
	int rc = -1;

	*ids = NULL;
	*n = 0;
	if (decode_text(text, len, &t) != 0 || clean_text(&t) != 0)
		goto out;
	for (i = 0; i < t.n; i += l ? l : 1) {
		l = match_piece(t.v + i, t.n - i);
		if (l > 0 && encode_piece(tok, &s, t.v + i, l, &out) != 0)
			goto out;
	}
	*ids = out.v;
	*n = out.n;
	out.v = NULL;
	rc = 0;
out:
	free(t.v);
	free(out.v);
	scratch_free(&s);
	if (rc != 0)
		errno = ENOMEM;
	return rc;
}
