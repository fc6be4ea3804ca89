/* html_entities.c - the named HTML entities and Python's html.unescape. */
#include "html_entities.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Named entities, sorted by name (strcmp) for bsearch: the HTML 4 set
 * plus &apos; and the upper-case aliases HTML 5 defines for them
 * (generated from Python's html.entities). HTML 5-only names are left as
 * text: prompts do not use them. */
static const struct entity {
	const char *name;
	const char *value;
	int flags;
} entities[] = {
	{ "AACUTE;", "\303\201", HTML_ENT_FTFY },
	{ "ACIRC;", "\303\202", HTML_ENT_FTFY },
	{ "ACUTE;", "\302\264", HTML_ENT_FTFY },
	{ "AELIG;", "\303\206", HTML_ENT_FTFY },
	{ "AElig", "\303\206", HTML_ENT_PY },
	{ "AElig;", "\303\206", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "AGRAVE;", "\303\200", HTML_ENT_FTFY },
	{ "ALEFSYM;", "\342\204\265", HTML_ENT_FTFY },
	{ "ALPHA;", "\316\221", HTML_ENT_FTFY },
	{ "AMP", "&", HTML_ENT_PY },
	{ "AMP;", "&", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "AND;", "\342\210\247", HTML_ENT_FTFY },
	{ "ANG;", "\342\210\240", HTML_ENT_FTFY },
	{ "APOS;", "'", HTML_ENT_FTFY },
	{ "ARING;", "\303\205", HTML_ENT_FTFY },
	{ "ASYMP;", "\342\211\210", HTML_ENT_FTFY },
	{ "ATILDE;", "\303\203", HTML_ENT_FTFY },
	{ "AUML;", "\303\204", HTML_ENT_FTFY },
	{ "Aacute", "\303\201", HTML_ENT_PY },
	{ "Aacute;", "\303\201", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Acirc", "\303\202", HTML_ENT_PY },
	{ "Acirc;", "\303\202", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Agrave", "\303\200", HTML_ENT_PY },
	{ "Agrave;", "\303\200", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Alpha;", "\316\221", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Aring", "\303\205", HTML_ENT_PY },
	{ "Aring;", "\303\205", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Atilde", "\303\203", HTML_ENT_PY },
	{ "Atilde;", "\303\203", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Auml", "\303\204", HTML_ENT_PY },
	{ "Auml;", "\303\204", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "BDQUO;", "\342\200\236", HTML_ENT_FTFY },
	{ "BETA;", "\316\222", HTML_ENT_FTFY },
	{ "BRVBAR;", "\302\246", HTML_ENT_FTFY },
	{ "BULL;", "\342\200\242", HTML_ENT_FTFY },
	{ "Beta;", "\316\222", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "CAP;", "\342\210\251", HTML_ENT_FTFY },
	{ "CCEDIL;", "\303\207", HTML_ENT_FTFY },
	{ "CEDIL;", "\302\270", HTML_ENT_FTFY },
	{ "CENT;", "\302\242", HTML_ENT_FTFY },
	{ "CHI;", "\316\247", HTML_ENT_FTFY },
	{ "CIRC;", "\313\206", HTML_ENT_FTFY },
	{ "CLUBS;", "\342\231\243", HTML_ENT_FTFY },
	{ "CONG;", "\342\211\205", HTML_ENT_FTFY },
	{ "COPY", "\302\251", HTML_ENT_PY },
	{ "COPY;", "\302\251", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "CRARR;", "\342\206\265", HTML_ENT_FTFY },
	{ "CUP;", "\342\210\252", HTML_ENT_FTFY },
	{ "CURREN;", "\302\244", HTML_ENT_FTFY },
	{ "Ccedil", "\303\207", HTML_ENT_PY },
	{ "Ccedil;", "\303\207", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Chi;", "\316\247", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "DAGGER;", "\342\200\240", HTML_ENT_FTFY },
	{ "DARR;", "\342\206\223", HTML_ENT_FTFY },
	{ "DEG;", "\302\260", HTML_ENT_FTFY },
	{ "DELTA;", "\316\224", HTML_ENT_FTFY },
	{ "DIAMS;", "\342\231\246", HTML_ENT_FTFY },
	{ "DIVIDE;", "\303\267", HTML_ENT_FTFY },
	{ "Dagger;", "\342\200\241", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Delta;", "\316\224", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "EACUTE;", "\303\211", HTML_ENT_FTFY },
	{ "ECIRC;", "\303\212", HTML_ENT_FTFY },
	{ "EGRAVE;", "\303\210", HTML_ENT_FTFY },
	{ "EMPTY;", "\342\210\205", HTML_ENT_FTFY },
	{ "EMSP;", "\342\200\203", HTML_ENT_FTFY },
	{ "ENSP;", "\342\200\202", HTML_ENT_FTFY },
	{ "EPSILON;", "\316\225", HTML_ENT_FTFY },
	{ "EQUIV;", "\342\211\241", HTML_ENT_FTFY },
	{ "ETA;", "\316\227", HTML_ENT_FTFY },
	{ "ETH", "\303\220", HTML_ENT_PY },
	{ "ETH;", "\303\220", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "EUML;", "\303\213", HTML_ENT_FTFY },
	{ "EURO;", "\342\202\254", HTML_ENT_FTFY },
	{ "EXIST;", "\342\210\203", HTML_ENT_FTFY },
	{ "Eacute", "\303\211", HTML_ENT_PY },
	{ "Eacute;", "\303\211", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Ecirc", "\303\212", HTML_ENT_PY },
	{ "Ecirc;", "\303\212", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Egrave", "\303\210", HTML_ENT_PY },
	{ "Egrave;", "\303\210", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Epsilon;", "\316\225", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Eta;", "\316\227", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Euml", "\303\213", HTML_ENT_PY },
	{ "Euml;", "\303\213", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "FNOF;", "\306\221", HTML_ENT_FTFY },
	{ "FORALL;", "\342\210\200", HTML_ENT_FTFY },
	{ "FRAC12;", "\302\275", HTML_ENT_FTFY },
	{ "FRAC14;", "\302\274", HTML_ENT_FTFY },
	{ "FRAC34;", "\302\276", HTML_ENT_FTFY },
	{ "FRASL;", "\342\201\204", HTML_ENT_FTFY },
	{ "ForAll;", "\342\210\200", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "GAMMA;", "\316\223", HTML_ENT_FTFY },
	{ "GE;", "\342\211\245", HTML_ENT_FTFY },
	{ "GT", ">", HTML_ENT_PY },
	{ "GT;", ">", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Gamma;", "\316\223", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "HARR;", "\342\206\224", HTML_ENT_FTFY },
	{ "HEARTS;", "\342\231\245", HTML_ENT_FTFY },
	{ "HELLIP;", "\342\200\246", HTML_ENT_FTFY },
	{ "IACUTE;", "\303\215", HTML_ENT_FTFY },
	{ "ICIRC;", "\303\216", HTML_ENT_FTFY },
	{ "IEXCL;", "\302\241", HTML_ENT_FTFY },
	{ "IGRAVE;", "\303\214", HTML_ENT_FTFY },
	{ "IMAGE;", "\342\204\221", HTML_ENT_FTFY },
	{ "INFIN;", "\342\210\236", HTML_ENT_FTFY },
	{ "INT;", "\342\210\253", HTML_ENT_FTFY },
	{ "IOTA;", "\316\231", HTML_ENT_FTFY },
	{ "IQUEST;", "\302\277", HTML_ENT_FTFY },
	{ "ISIN;", "\342\210\210", HTML_ENT_FTFY },
	{ "IUML;", "\303\217", HTML_ENT_FTFY },
	{ "Iacute", "\303\215", HTML_ENT_PY },
	{ "Iacute;", "\303\215", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Icirc", "\303\216", HTML_ENT_PY },
	{ "Icirc;", "\303\216", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Igrave", "\303\214", HTML_ENT_PY },
	{ "Igrave;", "\303\214", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Iota;", "\316\231", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Iuml", "\303\217", HTML_ENT_PY },
	{ "Iuml;", "\303\217", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "KAPPA;", "\316\232", HTML_ENT_FTFY },
	{ "Kappa;", "\316\232", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "LAMBDA;", "\316\233", HTML_ENT_FTFY },
	{ "LANG;", "\342\237\250", HTML_ENT_FTFY },
	{ "LAQUO;", "\302\253", HTML_ENT_FTFY },
	{ "LARR;", "\342\206\220", HTML_ENT_FTFY },
	{ "LCEIL;", "\342\214\210", HTML_ENT_FTFY },
	{ "LDQUO;", "\342\200\234", HTML_ENT_FTFY },
	{ "LE;", "\342\211\244", HTML_ENT_FTFY },
	{ "LFLOOR;", "\342\214\212", HTML_ENT_FTFY },
	{ "LOWAST;", "\342\210\227", HTML_ENT_FTFY },
	{ "LOZ;", "\342\227\212", HTML_ENT_FTFY },
	{ "LRM;", "\342\200\216", HTML_ENT_FTFY },
	{ "LSAQUO;", "\342\200\271", HTML_ENT_FTFY },
	{ "LSQUO;", "\342\200\230", HTML_ENT_FTFY },
	{ "LT", "<", HTML_ENT_PY },
	{ "LT;", "<", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Lambda;", "\316\233", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "MACR;", "\302\257", HTML_ENT_FTFY },
	{ "MDASH;", "\342\200\224", HTML_ENT_FTFY },
	{ "MICRO;", "\316\234", HTML_ENT_FTFY },
	{ "MIDDOT;", "\302\267", HTML_ENT_FTFY },
	{ "MINUS;", "\342\210\222", HTML_ENT_FTFY },
	{ "MU;", "\316\234", HTML_ENT_FTFY },
	{ "Mu;", "\316\234", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "NABLA;", "\342\210\207", HTML_ENT_FTFY },
	{ "NBSP;", "\302\240", HTML_ENT_FTFY },
	{ "NDASH;", "\342\200\223", HTML_ENT_FTFY },
	{ "NE;", "\342\211\240", HTML_ENT_FTFY },
	{ "NI;", "\342\210\213", HTML_ENT_FTFY },
	{ "NOT;", "\302\254", HTML_ENT_FTFY },
	{ "NOTIN;", "\342\210\211", HTML_ENT_FTFY },
	{ "NSUB;", "\342\212\204", HTML_ENT_FTFY },
	{ "NTILDE;", "\303\221", HTML_ENT_FTFY },
	{ "NU;", "\316\235", HTML_ENT_FTFY },
	{ "Ntilde", "\303\221", HTML_ENT_PY },
	{ "Ntilde;", "\303\221", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Nu;", "\316\235", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "OACUTE;", "\303\223", HTML_ENT_FTFY },
	{ "OCIRC;", "\303\224", HTML_ENT_FTFY },
	{ "OELIG;", "\305\222", HTML_ENT_FTFY },
	{ "OElig;", "\305\222", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "OGRAVE;", "\303\222", HTML_ENT_FTFY },
	{ "OLINE;", "\342\200\276", HTML_ENT_FTFY },
	{ "OMEGA;", "\316\251", HTML_ENT_FTFY },
	{ "OMICRON;", "\316\237", HTML_ENT_FTFY },
	{ "OPLUS;", "\342\212\225", HTML_ENT_FTFY },
	{ "OR;", "\342\210\250", HTML_ENT_FTFY },
	{ "ORDF;", "\302\252", HTML_ENT_FTFY },
	{ "ORDM;", "\302\272", HTML_ENT_FTFY },
	{ "OSLASH;", "\303\230", HTML_ENT_FTFY },
	{ "OTILDE;", "\303\225", HTML_ENT_FTFY },
	{ "OTIMES;", "\342\212\227", HTML_ENT_FTFY },
	{ "OUML;", "\303\226", HTML_ENT_FTFY },
	{ "Oacute", "\303\223", HTML_ENT_PY },
	{ "Oacute;", "\303\223", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Ocirc", "\303\224", HTML_ENT_PY },
	{ "Ocirc;", "\303\224", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Ograve", "\303\222", HTML_ENT_PY },
	{ "Ograve;", "\303\222", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Omega;", "\316\251", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Omicron;", "\316\237", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Oslash", "\303\230", HTML_ENT_PY },
	{ "Oslash;", "\303\230", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Otilde", "\303\225", HTML_ENT_PY },
	{ "Otilde;", "\303\225", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Ouml", "\303\226", HTML_ENT_PY },
	{ "Ouml;", "\303\226", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "PARA;", "\302\266", HTML_ENT_FTFY },
	{ "PART;", "\342\210\202", HTML_ENT_FTFY },
	{ "PERMIL;", "\342\200\260", HTML_ENT_FTFY },
	{ "PERP;", "\342\212\245", HTML_ENT_FTFY },
	{ "PHI;", "\316\246", HTML_ENT_FTFY },
	{ "PI;", "\316\240", HTML_ENT_FTFY },
	{ "PIV;", "\316\240", HTML_ENT_FTFY },
	{ "PLUSMN;", "\302\261", HTML_ENT_FTFY },
	{ "POUND;", "\302\243", HTML_ENT_FTFY },
	{ "PRIME;", "\342\200\262", HTML_ENT_FTFY },
	{ "PROD;", "\342\210\217", HTML_ENT_FTFY },
	{ "PROP;", "\342\210\235", HTML_ENT_FTFY },
	{ "PSI;", "\316\250", HTML_ENT_FTFY },
	{ "Phi;", "\316\246", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Pi;", "\316\240", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Prime;", "\342\200\263", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Psi;", "\316\250", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "QUOT", "\042", HTML_ENT_PY },
	{ "QUOT;", "\042", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "RADIC;", "\342\210\232", HTML_ENT_FTFY },
	{ "RANG;", "\342\237\251", HTML_ENT_FTFY },
	{ "RAQUO;", "\302\273", HTML_ENT_FTFY },
	{ "RARR;", "\342\206\222", HTML_ENT_FTFY },
	{ "RCEIL;", "\342\214\211", HTML_ENT_FTFY },
	{ "RDQUO;", "\342\200\235", HTML_ENT_FTFY },
	{ "REAL;", "\342\204\234", HTML_ENT_FTFY },
	{ "REG", "\302\256", HTML_ENT_PY },
	{ "REG;", "\302\256", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "RFLOOR;", "\342\214\213", HTML_ENT_FTFY },
	{ "RHO;", "\316\241", HTML_ENT_FTFY },
	{ "RLM;", "\342\200\217", HTML_ENT_FTFY },
	{ "RSAQUO;", "\342\200\272", HTML_ENT_FTFY },
	{ "RSQUO;", "\342\200\231", HTML_ENT_FTFY },
	{ "Rho;", "\316\241", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "SBQUO;", "\342\200\232", HTML_ENT_FTFY },
	{ "SCARON;", "\305\240", HTML_ENT_FTFY },
	{ "SDOT;", "\342\213\205", HTML_ENT_FTFY },
	{ "SECT;", "\302\247", HTML_ENT_FTFY },
	{ "SHY;", "\302\255", HTML_ENT_FTFY },
	{ "SIGMA;", "\316\243", HTML_ENT_FTFY },
	{ "SIGMAF;", "\316\243", HTML_ENT_FTFY },
	{ "SIM;", "\342\210\274", HTML_ENT_FTFY },
	{ "SPADES;", "\342\231\240", HTML_ENT_FTFY },
	{ "SUB;", "\342\212\202", HTML_ENT_FTFY },
	{ "SUBE;", "\342\212\206", HTML_ENT_FTFY },
	{ "SUM;", "\342\210\221", HTML_ENT_FTFY },
	{ "SUP1;", "\302\271", HTML_ENT_FTFY },
	{ "SUP2;", "\302\262", HTML_ENT_FTFY },
	{ "SUP3;", "\302\263", HTML_ENT_FTFY },
	{ "SUP;", "\342\212\203", HTML_ENT_FTFY },
	{ "SUPE;", "\342\212\207", HTML_ENT_FTFY },
	{ "SZLIG;", "SS", HTML_ENT_FTFY },
	{ "Scaron;", "\305\240", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Sigma;", "\316\243", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Sum;", "\342\210\221", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "TAU;", "\316\244", HTML_ENT_FTFY },
	{ "THERE4;", "\342\210\264", HTML_ENT_FTFY },
	{ "THETA;", "\316\230", HTML_ENT_FTFY },
	{ "THETASYM;", "\316\230", HTML_ENT_FTFY },
	{ "THINSP;", "\342\200\211", HTML_ENT_FTFY },
	{ "THORN", "\303\236", HTML_ENT_PY },
	{ "THORN;", "\303\236", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "TILDE;", "\313\234", HTML_ENT_FTFY },
	{ "TIMES;", "\303\227", HTML_ENT_FTFY },
	{ "TRADE;", "\342\204\242", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Tau;", "\316\244", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Theta;", "\316\230", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "UACUTE;", "\303\232", HTML_ENT_FTFY },
	{ "UARR;", "\342\206\221", HTML_ENT_FTFY },
	{ "UCIRC;", "\303\233", HTML_ENT_FTFY },
	{ "UGRAVE;", "\303\231", HTML_ENT_FTFY },
	{ "UML;", "\302\250", HTML_ENT_FTFY },
	{ "UPSIH;", "\317\222", HTML_ENT_FTFY },
	{ "UPSILON;", "\316\245", HTML_ENT_FTFY },
	{ "UUML;", "\303\234", HTML_ENT_FTFY },
	{ "Uacute", "\303\232", HTML_ENT_PY },
	{ "Uacute;", "\303\232", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Ucirc", "\303\233", HTML_ENT_PY },
	{ "Ucirc;", "\303\233", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Ugrave", "\303\231", HTML_ENT_PY },
	{ "Ugrave;", "\303\231", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Upsilon;", "\316\245", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Uuml", "\303\234", HTML_ENT_PY },
	{ "Uuml;", "\303\234", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "WEIERP;", "\342\204\230", HTML_ENT_FTFY },
	{ "XI;", "\316\236", HTML_ENT_FTFY },
	{ "Xi;", "\316\236", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "YACUTE;", "\303\235", HTML_ENT_FTFY },
	{ "YEN;", "\302\245", HTML_ENT_FTFY },
	{ "YUML;", "\305\270", HTML_ENT_FTFY },
	{ "Yacute", "\303\235", HTML_ENT_PY },
	{ "Yacute;", "\303\235", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "Yuml;", "\305\270", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ZETA;", "\316\226", HTML_ENT_FTFY },
	{ "ZWJ;", "\342\200\215", HTML_ENT_FTFY },
	{ "ZWNJ;", "\342\200\214", HTML_ENT_FTFY },
	{ "Zeta;", "\316\226", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "aacute", "\303\241", HTML_ENT_PY },
	{ "aacute;", "\303\241", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "acirc", "\303\242", HTML_ENT_PY },
	{ "acirc;", "\303\242", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "acute", "\302\264", HTML_ENT_PY },
	{ "acute;", "\302\264", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "aelig", "\303\246", HTML_ENT_PY },
	{ "aelig;", "\303\246", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "agrave", "\303\240", HTML_ENT_PY },
	{ "agrave;", "\303\240", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "alefsym;", "\342\204\265", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "alpha;", "\316\261", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "amp", "&", HTML_ENT_PY },
	{ "amp;", "&", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "and;", "\342\210\247", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ang;", "\342\210\240", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "apos;", "'", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "aring", "\303\245", HTML_ENT_PY },
	{ "aring;", "\303\245", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "asymp;", "\342\211\210", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "atilde", "\303\243", HTML_ENT_PY },
	{ "atilde;", "\303\243", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "auml", "\303\244", HTML_ENT_PY },
	{ "auml;", "\303\244", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "bdquo;", "\342\200\236", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "beta;", "\316\262", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "brvbar", "\302\246", HTML_ENT_PY },
	{ "brvbar;", "\302\246", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "bull;", "\342\200\242", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "cap;", "\342\210\251", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ccedil", "\303\247", HTML_ENT_PY },
	{ "ccedil;", "\303\247", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "cedil", "\302\270", HTML_ENT_PY },
	{ "cedil;", "\302\270", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "cent", "\302\242", HTML_ENT_PY },
	{ "cent;", "\302\242", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "chi;", "\317\207", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "circ;", "\313\206", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "clubs;", "\342\231\243", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "cong;", "\342\211\205", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "copy", "\302\251", HTML_ENT_PY },
	{ "copy;", "\302\251", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "crarr;", "\342\206\265", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "cup;", "\342\210\252", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "curren", "\302\244", HTML_ENT_PY },
	{ "curren;", "\302\244", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "dArr;", "\342\207\223", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "dagger;", "\342\200\240", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "darr;", "\342\206\223", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "deg", "\302\260", HTML_ENT_PY },
	{ "deg;", "\302\260", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "delta;", "\316\264", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "diams;", "\342\231\246", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "divide", "\303\267", HTML_ENT_PY },
	{ "divide;", "\303\267", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "eacute", "\303\251", HTML_ENT_PY },
	{ "eacute;", "\303\251", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ecirc", "\303\252", HTML_ENT_PY },
	{ "ecirc;", "\303\252", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "egrave", "\303\250", HTML_ENT_PY },
	{ "egrave;", "\303\250", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "empty;", "\342\210\205", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "emsp;", "\342\200\203", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ensp;", "\342\200\202", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "epsilon;", "\316\265", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "equiv;", "\342\211\241", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "eta;", "\316\267", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "eth", "\303\260", HTML_ENT_PY },
	{ "eth;", "\303\260", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "euml", "\303\253", HTML_ENT_PY },
	{ "euml;", "\303\253", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "euro;", "\342\202\254", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "exist;", "\342\210\203", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "fnof;", "\306\222", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "forall;", "\342\210\200", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "frac12", "\302\275", HTML_ENT_PY },
	{ "frac12;", "\302\275", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "frac14", "\302\274", HTML_ENT_PY },
	{ "frac14;", "\302\274", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "frac34", "\302\276", HTML_ENT_PY },
	{ "frac34;", "\302\276", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "frasl;", "\342\201\204", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "gamma;", "\316\263", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ge;", "\342\211\245", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "gt", ">", HTML_ENT_PY },
	{ "gt;", ">", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "hArr;", "\342\207\224", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "harr;", "\342\206\224", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "hearts;", "\342\231\245", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "hellip;", "\342\200\246", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "iacute", "\303\255", HTML_ENT_PY },
	{ "iacute;", "\303\255", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "icirc", "\303\256", HTML_ENT_PY },
	{ "icirc;", "\303\256", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "iexcl", "\302\241", HTML_ENT_PY },
	{ "iexcl;", "\302\241", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "igrave", "\303\254", HTML_ENT_PY },
	{ "igrave;", "\303\254", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "image;", "\342\204\221", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "infin;", "\342\210\236", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "int;", "\342\210\253", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "iota;", "\316\271", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "iquest", "\302\277", HTML_ENT_PY },
	{ "iquest;", "\302\277", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "isin;", "\342\210\210", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "iuml", "\303\257", HTML_ENT_PY },
	{ "iuml;", "\303\257", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "kappa;", "\316\272", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lArr;", "\342\207\220", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lambda;", "\316\273", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lang;", "\342\237\250", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "laquo", "\302\253", HTML_ENT_PY },
	{ "laquo;", "\302\253", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "larr;", "\342\206\220", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lceil;", "\342\214\210", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ldquo;", "\342\200\234", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "le;", "\342\211\244", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lfloor;", "\342\214\212", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lowast;", "\342\210\227", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "loz;", "\342\227\212", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lrm;", "\342\200\216", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lsaquo;", "\342\200\271", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lsquo;", "\342\200\230", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "lt", "<", HTML_ENT_PY },
	{ "lt;", "<", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "macr", "\302\257", HTML_ENT_PY },
	{ "macr;", "\302\257", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "mdash;", "\342\200\224", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "micro", "\302\265", HTML_ENT_PY },
	{ "micro;", "\302\265", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "middot", "\302\267", HTML_ENT_PY },
	{ "middot;", "\302\267", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "minus;", "\342\210\222", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "mu;", "\316\274", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "nabla;", "\342\210\207", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "nbsp", "\302\240", HTML_ENT_PY },
	{ "nbsp;", "\302\240", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ndash;", "\342\200\223", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ne;", "\342\211\240", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ni;", "\342\210\213", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "not", "\302\254", HTML_ENT_PY },
	{ "not;", "\302\254", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "notin;", "\342\210\211", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "nsub;", "\342\212\204", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ntilde", "\303\261", HTML_ENT_PY },
	{ "ntilde;", "\303\261", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "nu;", "\316\275", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "oacute", "\303\263", HTML_ENT_PY },
	{ "oacute;", "\303\263", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ocirc", "\303\264", HTML_ENT_PY },
	{ "ocirc;", "\303\264", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "oelig;", "\305\223", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ograve", "\303\262", HTML_ENT_PY },
	{ "ograve;", "\303\262", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "oline;", "\342\200\276", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "omega;", "\317\211", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "omicron;", "\316\277", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "oplus;", "\342\212\225", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "or;", "\342\210\250", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ordf", "\302\252", HTML_ENT_PY },
	{ "ordf;", "\302\252", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ordm", "\302\272", HTML_ENT_PY },
	{ "ordm;", "\302\272", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "oslash", "\303\270", HTML_ENT_PY },
	{ "oslash;", "\303\270", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "otilde", "\303\265", HTML_ENT_PY },
	{ "otilde;", "\303\265", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "otimes;", "\342\212\227", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ouml", "\303\266", HTML_ENT_PY },
	{ "ouml;", "\303\266", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "para", "\302\266", HTML_ENT_PY },
	{ "para;", "\302\266", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "part;", "\342\210\202", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "permil;", "\342\200\260", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "perp;", "\342\212\245", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "phi;", "\317\206", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "pi;", "\317\200", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "piv;", "\317\226", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "plusmn", "\302\261", HTML_ENT_PY },
	{ "plusmn;", "\302\261", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "pound", "\302\243", HTML_ENT_PY },
	{ "pound;", "\302\243", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "prime;", "\342\200\262", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "prod;", "\342\210\217", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "prop;", "\342\210\235", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "psi;", "\317\210", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "quot", "\042", HTML_ENT_PY },
	{ "quot;", "\042", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rArr;", "\342\207\222", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "radic;", "\342\210\232", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rang;", "\342\237\251", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "raquo", "\302\273", HTML_ENT_PY },
	{ "raquo;", "\302\273", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rarr;", "\342\206\222", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rceil;", "\342\214\211", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rdquo;", "\342\200\235", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "real;", "\342\204\234", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "reg", "\302\256", HTML_ENT_PY },
	{ "reg;", "\302\256", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rfloor;", "\342\214\213", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rho;", "\317\201", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rlm;", "\342\200\217", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rsaquo;", "\342\200\272", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "rsquo;", "\342\200\231", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sbquo;", "\342\200\232", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "scaron;", "\305\241", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sdot;", "\342\213\205", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sect", "\302\247", HTML_ENT_PY },
	{ "sect;", "\302\247", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "shy", "\302\255", HTML_ENT_PY },
	{ "shy;", "\302\255", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sigma;", "\317\203", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sigmaf;", "\317\202", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sim;", "\342\210\274", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "spades;", "\342\231\240", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sub;", "\342\212\202", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sube;", "\342\212\206", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sum;", "\342\210\221", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sup1", "\302\271", HTML_ENT_PY },
	{ "sup1;", "\302\271", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sup2", "\302\262", HTML_ENT_PY },
	{ "sup2;", "\302\262", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sup3", "\302\263", HTML_ENT_PY },
	{ "sup3;", "\302\263", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "sup;", "\342\212\203", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "supe;", "\342\212\207", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "szlig", "\303\237", HTML_ENT_PY },
	{ "szlig;", "\303\237", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "tau;", "\317\204", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "there4;", "\342\210\264", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "theta;", "\316\270", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "thetasym;", "\317\221", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "thinsp;", "\342\200\211", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "thorn", "\303\276", HTML_ENT_PY },
	{ "thorn;", "\303\276", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "tilde;", "\313\234", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "times", "\303\227", HTML_ENT_PY },
	{ "times;", "\303\227", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "trade;", "\342\204\242", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "uArr;", "\342\207\221", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "uacute", "\303\272", HTML_ENT_PY },
	{ "uacute;", "\303\272", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "uarr;", "\342\206\221", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ucirc", "\303\273", HTML_ENT_PY },
	{ "ucirc;", "\303\273", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "ugrave", "\303\271", HTML_ENT_PY },
	{ "ugrave;", "\303\271", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "uml", "\302\250", HTML_ENT_PY },
	{ "uml;", "\302\250", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "upsih;", "\317\222", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "upsilon;", "\317\205", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "uuml", "\303\274", HTML_ENT_PY },
	{ "uuml;", "\303\274", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "weierp;", "\342\204\230", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "xi;", "\316\276", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "yacute", "\303\275", HTML_ENT_PY },
	{ "yacute;", "\303\275", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "yen", "\302\245", HTML_ENT_PY },
	{ "yen;", "\302\245", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "yuml", "\303\277", HTML_ENT_PY },
	{ "yuml;", "\303\277", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "zeta;", "\316\266", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "zwj;", "\342\200\215", HTML_ENT_PY | HTML_ENT_FTFY },
	{ "zwnj;", "\342\200\214", HTML_ENT_PY | HTML_ENT_FTFY },
};

static int
entity_cmp(const void *key, const void *elem)
{
	const struct entity *e = elem;

	return strcmp(key, e->name);
}

const char *
html_entity_find(const char *name, int flag)
{
	const struct entity *e = bsearch(name, entities, ARRAY_LEN(entities),
	    sizeof(entities[0]), entity_cmp);

	return e != NULL && (e->flags & flag) ? e->value : NULL;
}

/* Code points html.unescape turns into nothing. */
static int
invalid_codepoint(uint32_t c)
{
	return (c >= 0x1 && c <= 0x8) || c == 0xb ||
	    (c >= 0xe && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
	    (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

const uint16_t html_cp1252[32] = {
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

int
html_unescape(const uint32_t *s, size_t n, struct cpvec *out)
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
				v = html_cp1252[v - 0x80];
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
			const char *e = NULL;
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
				e = html_entity_find(name, HTML_ENT_PY);
			if (e != NULL) {
				if (cp_append_utf8(out, e, strlen(e)) != 0)
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
				e = html_entity_find(name, HTML_ENT_PY);
				if (e != NULL)
					break;
			}
			if (e != NULL) {
				if (cp_append_utf8(out, e, strlen(e)) != 0 ||
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
