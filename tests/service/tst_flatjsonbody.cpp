// FlatJsonBody: the session API's one-pass body reader, against JsonBody (QJsonDocument) on the
// same bodies: the same fields, the same values, the same refusals.

#include "FlatJsonBody.h"
#include "HttpError.h"
#include "JsonBody.h"

#include <QtTest>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace hourglass;
using namespace hourglass::service;

namespace {

const std::initializer_list<std::string_view> kAllowed = {"user", "area", "remember_me", "client_ip",
                                                          "user_agent"};

// What a handler sees of a body: the refusal, or what each allowed field reads as.
struct Outcome
{
    std::optional<std::string> refusal;
    std::map<std::string, std::string> reads; // field -> "string:..." / "bool:..." / "error:..."

    bool operator==(const Outcome &) const = default;
};

QString describe(const Outcome &o)
{
    if (o.refusal)
        return QStringLiteral("refused: ") + QString::fromStdString(*o.refusal);
    QString text;
    for (const auto &[field, read] : o.reads)
        text += QString::fromStdString(field + "=" + read + "; ");
    return text;
}

template<typename Read> std::string readOf(Read read)
{
    try {
        return read();
    } catch (const http::HttpError &e) {
        return "error:" + std::string(e.what());
    }
}

// One reader's outcome: parse() makes its object, readString and readBool read a field of it.
template<typename Parse, typename ReadString, typename ReadBool>
Outcome outcomeOf(Parse parse, ReadString readString, ReadBool readBool)
{
    Outcome o;
    try {
        const auto body = parse();
        for (const std::string_view field : kAllowed) {
            const std::string name(field);
            o.reads[name + "/s"] = readOf([&] {
                const std::optional<std::string> s = readString(body, name);
                return s ? "string:" + *s : std::string("absent");
            });
            o.reads[name + "/b"] =
                readOf([&] { return std::string("bool:") + (readBool(body, name) ? "1" : "0"); });
        }
    } catch (const http::HttpError &e) {
        o.refusal = e.what();
    }
    return o;
}

Outcome viaFlat(const std::string &body)
{
    return outcomeOf([&] { return FlatJsonBody::parse(body, kAllowed); },
                     [](const FlatJsonBody &b, const std::string &f) { return b.optionalString(f, 1 << 20); },
                     [](const FlatJsonBody &b, const std::string &f) { return b.optionalBool(f, false); });
}

Outcome viaQt(const std::string &body)
{
    return outcomeOf([&] { return JsonBody::parse(body, kAllowed); },
                     [](const QJsonObject &b, const std::string &f) {
                         return JsonBody::optionalString(b, f.c_str(), 1 << 20);
                     },
                     [](const QJsonObject &b, const std::string &f) {
                         return JsonBody::optionalBool(b, f.c_str(), false);
                     });
}

const std::string kNotJson = "the body is not valid JSON: ";

// Both read the same values, or both refuse with the same message, except that the reason given
// for text that is not JSON is each reader's own.
bool agree(const Outcome &flat, const Outcome &qt)
{
    if (flat.refusal && qt.refusal) {
        if (flat.refusal->starts_with(kNotJson) && qt.refusal->starts_with(kNotJson))
            return true;
        return *flat.refusal == *qt.refusal;
    }
    return flat == qt;
}

// Where QJsonDocument is laxer than RFC 8259, the flat reader refuses, for one of these reasons.
bool stricter(const Outcome &flat, const Outcome &qt)
{
    // QJsonDocument read past the point (it accepted, or refused for a later reason).
    if (!flat.refusal || !flat.refusal->starts_with(kNotJson) ||
        (qt.refusal && qt.refusal->starts_with(kNotJson)))
        return false;
    for (const char *reason :
         {"illegal escape sequence", "control character in a string", "unpaired surrogate escape",
          "expected a digit", "leading zero in a number", "expected a value"}) {
        if (flat.refusal->find(reason) == kNotJson.size())
            return true;
    }
    return false;
}

} // namespace

class TestFlatJsonBody : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void readsLikeJsonBody_data()
    {
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<bool>("strict"); // QJsonDocument accepts it; RFC 8259 and the flat reader do not
        using namespace std::string_view_literals;
        const std::string_view bodies[] = {
            "",
            "  \r\n\t ",
            "{}",
            " { } ",
            R"({"user":"alice@example.com","area":"admin","remember_me":true,"client_ip":"192.0.2.1","user_agent":"curl/8"})",
            R"({"user":"alice","remember_me":false,"area":null})",
            "{\"user\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}",
            "{\"user\":\"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\u0041\"}",
            "{\"user\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
            R"({"user":"first","user":"second"})",
            R"({"user":1})",
            R"({"user":-0.5e+10})",
            R"({"user":[1,2,{"a":[]}]})",
            R"({"user":{"nested":{"deeper":true}}})",
            R"({"remember_me":"yes"})",
            R"({"remember_me":0})",
            R"({"user":""})",
            R"({"unknown":1})",
            R"({"zeta":1,"alpha":2,"user":"x"})",
            R"({"user":"x"} )",
            R"({"user":"x"} x)",
            R"({"user":"x"}{})",
            R"({"user":"x",})",
            R"({"user" "x"})",
            R"({"user":})",
            R"({user:"x"})",
            R"({'user':'x'})",
            R"({"user":"x")",
            "{\"user\":\"x", // unterminated string
            "{\"user\":\"\\x\"}",
            "{\"user\":\"\\u12\"}",
            "{\"user\":\"\\u12g4\"}",
            R"({"user":01})",
            R"({"user":1.})",
            R"({"user":.5})",
            R"({"user":"\ud800"})",
            R"({"user":"\udc00\ud800"})",
            R"({"user":+1})",
            R"({"user":1e})",
            R"({"user":-})",
            R"({"user":tru})",
            R"({"user":nul})",
            R"({"user":True})",
            "{\"user\":\"tab\there\"}",
            "{\"user\":\"nul\\u0000inside\"}",
            R"([])",
            R"([{"user":"x"}])",
            R"("a string")",
            R"(42)",
            R"(true)",
            R"(null)",
            "{\"user\":\"x\"}\0"sv, // a NUL after the object
            "\xef\xbb\xbf{}",
            "\xef\xbb\xbf",
            "\xef\xbb\xbf \n",
            " \xef\xbb\xbf{}",
            "{\"user\":\"\xc3\"}",
            "{\"user\":\"\xc0\xaf\"}",
            "{\"user\":\"\xed\xa0\x80\"}",
            "{\"user\":\"\xf4\x90\x80\x80\"}",
            "{\"user\":\"\xff\"}",
        };
        int i = 0;
        for (const std::string_view body : bodies) {
            const QByteArray bytes(body.data(), qsizetype(body.size()));
            const bool strict = body == R"({"user":"\x"})" || body == R"({"user":1.})" ||
                                body == R"({"user":.5})" || body == "{\"user\":\"tab\there\"}" ||
                                body == R"({"user":"\ud800"})" || body == R"({"user":"\udc00\ud800"})";
            QTest::newRow(
                qPrintable(QString::number(i++) + QLatin1Char(' ') + QString::fromUtf8(bytes).left(40)))
                << bytes << strict;
        }
    }

    void readsLikeJsonBody()
    {
        QFETCH(QByteArray, body);
        QFETCH(bool, strict);
        const std::string text = body.toStdString();
        const Outcome flat = viaFlat(text);
        const Outcome qt = viaQt(text);
        QVERIFY2(strict ? stricter(flat, qt) : agree(flat, qt),
                 qPrintable(QStringLiteral("flat: ") + describe(flat) + QStringLiteral("\nQt:   ") +
                            describe(qt)));
    }

    void keepsEveryCharacterOfAString()
    {
        // QJsonDocument drops an unescaped U+FEFF that starts a string value (it decodes the
        // string as if it began a document); the flat reader keeps the text as sent.
        const FlatJsonBody b = FlatJsonBody::parse("{\"user\":\"\xef\xbb\xbf"
                                                   "ab\"}",
                                                   kAllowed);
        QCOMPARE(b.requiredString("user", 100), std::string("\xef\xbb\xbf"
                                                            "ab"));
        const FlatJsonBody c = FlatJsonBody::parse("{\"user\":\"\\ufeffab\"}", kAllowed);
        QCOMPARE(c.requiredString("user", 100), std::string("\xef\xbb\xbf"
                                                            "ab"));
    }

    // Plain runs in a string are scanned 16 bytes at a time: every byte value at every position of
    // a 40-byte value (two blocks and a tail). Printable ASCII is kept as sent; a control
    // character is refused where it stands; a quote, a backslash before 'a' and a lone byte
    // above 0x7f are refused too.
    void everyByteAtEveryPositionOfAString()
    {
        for (std::size_t position = 0; position < 40; ++position) {
            for (int value = 0; value < 256; ++value) {
                std::string text(40, 'a');
                text[position] = static_cast<char>(value);
                const std::string body = "{\"user\":\"" + text + "\"}";
                const bool plain = value >= 0x20 && value < 0x80 && value != '"' && value != '\\';
                try {
                    const FlatJsonBody b = FlatJsonBody::parse(body, kAllowed);
                    QVERIFY2(plain, qPrintable(QString::number(value)));
                    QCOMPARE(b.requiredString("user", 100), text);
                } catch (const http::HttpError &e) {
                    QVERIFY2(!plain, e.what());
                    if (value < 0x20)
                        QCOMPARE(std::string(e.what()),
                                 "the body is not valid JSON: control character in a string at byte " +
                                     std::to_string(9 + position));
                }
            }
        }
    }

    void decodesEscapesAndKeepsTheLastOfTwoValues()
    {
        const FlatJsonBody b = FlatJsonBody::parse("{\"user\":\"caf\\u00e9\\ud83d\\ude00\\n\",\"user\":"
                                                   "\"x\\\"y\",\"area\":\"admin\",\"remember_me\":true}",
                                                   kAllowed);
        QCOMPARE(b.requiredString("user", 100), std::string("x\"y"));
        QCOMPARE(b.optionalString("area", 100), std::optional<std::string>("admin"));
        QCOMPARE(b.optionalBool("remember_me", false), true);
        QCOMPARE(b.optionalBool("client_ip", true), true); // absent: the fallback
        const FlatJsonBody c = FlatJsonBody::parse("{\"user\":\"caf\\u00e9\\ud83d\\ude00\\n\"}", kAllowed);
        QCOMPARE(c.requiredString("user", 100), std::string("caf\xc3\xa9\xf0\x9f\x98\x80\n"));
    }

    void takingAStringMovesItOutWithTheSameChecks()
    {
        FlatJsonBody b = FlatJsonBody::parse(
            R"({"user":"a-user-name-longer-than-sso@example.com","area":5,"client_ip":null})", kAllowed);
        QCOMPARE(b.takeRequiredString("user", 100), std::string("a-user-name-longer-than-sso@example.com"));
        QCOMPARE(b.optionalString("user", 100), std::nullopt); // taken: absent now
        const auto refusal = [&](auto read) -> std::string {
            try {
                read();
                return "accepted";
            } catch (const http::HttpError &e) {
                return e.what();
            }
        };
        QCOMPARE(refusal([&] { (void)b.takeRequiredString("user", 100); }),
                 std::string("'user' is required"));
        QCOMPARE(refusal([&] { (void)b.takeString("area", 100); }), std::string("'area' must be a string"));
        QCOMPARE(b.takeString("client_ip", 100), std::nullopt);  // null
        QCOMPARE(b.takeString("user_agent", 100), std::nullopt); // absent
        FlatJsonBody c = FlatJsonBody::parse(R"({"user":"123456789"})", kAllowed);
        QCOMPARE(refusal([&] { (void)c.takeString("user", 8); }),
                 std::string("'user' is longer than 8 bytes"));
        QCOMPARE(c.requiredString("user", 9), std::string("123456789")); // a refused take left it there
    }

    void refusesWithTheHandlersMessages()
    {
        const auto refusal = [](const std::string &body, const char *field = nullptr) -> std::string {
            try {
                const FlatJsonBody b = FlatJsonBody::parse(body, kAllowed);
                if (field)
                    (void)b.requiredString(field, 8);
                return "accepted";
            } catch (const http::HttpError &e) {
                return e.what();
            }
        };
        QCOMPARE(refusal(R"({"user":"x","zz":1,"aa":2})"), std::string("unknown field 'aa'"));
        QCOMPARE(refusal(R"([1])"), std::string("the body must be a JSON object"));
        QCOMPARE(refusal(R"({"user":5})", "user"), std::string("'user' must be a string"));
        QCOMPARE(refusal(R"({"user":"123456789"})", "user"), std::string("'user' is longer than 8 bytes"));
        QCOMPARE(refusal(R"({"user":""})", "user"), std::string("'user' is required"));
        QCOMPARE(refusal(R"({})", "user"), std::string("'user' is required"));
        QCOMPARE(refusal(R"({"user":"x",)"),
                 std::string("the body is not valid JSON: expected a field name at byte 12"));
        QCOMPARE(refusal("{\"user\":\"\\ud800\"}"),
                 std::string("the body is not valid JSON: unpaired surrogate escape at byte 15"));
        std::string deep = R"({"user":)" + std::string(FlatJsonBody::kMaxDepth, '[') +
                           std::string(FlatJsonBody::kMaxDepth, ']') + "}";
        QCOMPARE(refusal(deep, nullptr), std::string("accepted"));
        deep = R"({"user":)" + std::string(FlatJsonBody::kMaxDepth + 1, '[') +
               std::string(FlatJsonBody::kMaxDepth + 1, ']') + "}";
        QVERIFY(refusal(deep, nullptr).find("nested too deeply") != std::string::npos);
    }

    // Random edits of valid bodies (bytes that matter to JSON, UTF-8 pieces, any byte): the two
    // readers accept the same bodies and read the same values from them.
    void agreesWithJsonBodyOnMutatedBodies()
    {
        const std::vector<std::string> seeds = {
            R"({"user":"alice@example.com","area":"storefront","remember_me":true,"client_ip":"10.0.0.1","user_agent":"Mozilla/5.0"})",
            "{\"user\":\"b\\u00e9\\\"\\\\\",\"remember_me\":null,\"area\":\"admin\"}",
            "{\"user\":[1,{\"x\":-2.5e3}],\"user_agent\":\"\\ud83d\\ude00\"}",
        };
        const std::string pieces[] = {"{",        "}",
                                      "[",        "]",
                                      "\"",       "\\",
                                      ":",        ",",
                                      " ",        "\\u",
                                      "\\ud83d",  "\\ude00",
                                      "e",        "-",
                                      "0",        "1",
                                      ".",        "true",
                                      "null",     "\xc3\xa9",
                                      "\xe2\x82", "\xf0\x9f\x98\x80",
                                      "\x01",     "\x7f",
                                      "\xff"};
        std::mt19937 random(8);
        int accepted = 0;
        int refusedAsStricter = 0;
        for (int i = 0; i < 30000; ++i) {
            std::string body = seeds[random() % seeds.size()];
            const int edits = 1 + int(random() % 3);
            for (int e = 0; e < edits && !body.empty(); ++e) {
                const std::size_t at = random() % body.size();
                switch (random() % 4) {
                case 0:
                    body.erase(at, 1 + random() % 3);
                    break;
                case 1:
                    body.insert(at, pieces[random() % std::size(pieces)]);
                    break;
                case 2:
                    body[at] = char(random() % 256);
                    break;
                default:
                    body.replace(at, 1, pieces[random() % std::size(pieces)]);
                    break;
                }
            }
            const Outcome flat = viaFlat(body);
            const Outcome qt = viaQt(body);
            if (!agree(flat, qt) && !stricter(flat, qt))
                QFAIL(qPrintable(
                    QStringLiteral("body %1\nflat: %2\nQt:   %3")
                        .arg(QString::fromLatin1(QByteArray::fromStdString(body).toPercentEncoding()),
                             describe(flat), describe(qt))));
            accepted += flat.refusal ? 0 : 1;
            refusedAsStricter += stricter(flat, qt) ? 1 : 0;
        }
        QVERIFY2(accepted > 1000, qPrintable(QString::number(accepted))); // the edits kept many valid
        // Most bodies are compared, not excused (~2,000 of 30,000: raw control characters, "\\x",
        // lone surrogates, ".5" that QJsonDocument takes).
        QVERIFY2(refusedAsStricter < 30000 / 5, qPrintable(QString::number(refusedAsStricter)));
    }
};

QTEST_APPLESS_MAIN(TestFlatJsonBody)
#include "tst_flatjsonbody.moc"
