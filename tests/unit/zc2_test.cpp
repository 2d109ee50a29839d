// ZC2-HMAC-SHA256 (SPEC §4.3) as the Zenlayer SDK signs: parsing the Authorization header, the
// string to sign, the signature, the time window and the digest of what the SDK leaves unsigned.
#include "auth/zc2.h"

#include <gtest/gtest.h>

namespace lambda::shim::zc2 {
namespace {

constexpr char kSecret[] = "s3cr3t-Pa55word_xyz";
constexpr char kBody[] = R"({"instanceIds": ["abc"]})";
// Computed with python3's hmac/hashlib following the SDK's _build_zc2_authorization:
//   canonical = 'POST\n/\n\ncontent-type:application/json\nhost:127.0.0.1:8080\n\n'
//               'content-type;host\n' + sha256hex(body)
//   string2sign = 'ZC2-HMAC-SHA256\n1765100000\n' + sha256hex(canonical)
//   hmac.new(secret, string2sign, sha256).hexdigest()
constexpr char kStringToSign[] =
    "ZC2-HMAC-SHA256\n1765100000\n"
    "dfd504624340d9156f9b1b06d2612c75259d9839b2ebfc833e3fa087db155777";
constexpr char kSignature[] = "7a59208ef2cb324af41c56dd261d1f349c6fbb5628978a945d376df0049e1ea5";

http::Request SdkRequest(const std::string& signature = kSignature) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/api/v2/vm";
  r.body = kBody;
  r.headers = {{"host", "127.0.0.1:8080"},
               {"content-type", "application/json"},
               {"x-zc-action", "StartInstances"},
               {"x-zc-signature-method", "ZC2-HMAC-SHA256"},
               {"x-zc-timestamp", "1765100000"},
               {"authorization",
                "ZC2-HMAC-SHA256 Credential=AK0123, "
                "SignedHeaders=content-type;host, Signature=" +
                    signature}};
  return r;
}

TEST(Zc2, KnownAnswerAsTheSdkSigns) {
  auto req = SdkRequest();
  auto r = Read(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->auth.access_key_id, "AK0123");
  EXPECT_EQ(r->timestamp, 1765100000);
  EXPECT_EQ(StringToSign(*r), kStringToSign);
  EXPECT_EQ(Sign(kSecret, *r), kSignature);
  EXPECT_TRUE(Verify(kSecret, StringToSign(*r), r->auth.signature));
}

TEST(Zc2, AnyChangeToWhatIsSignedOrTheSecretFailsVerification) {
  auto base = SdkRequest();
  EXPECT_FALSE(Verify("another secret", StringToSign(*Read(base)), kSignature));
  std::string flipped = kSignature;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  auto bad = SdkRequest(flipped);
  EXPECT_FALSE(Verify(kSecret, StringToSign(*Read(bad)), Read(bad)->auth.signature));
  auto body = SdkRequest();
  body.body = R"({"instanceIds": ["abd"]})";
  EXPECT_FALSE(Verify(kSecret, StringToSign(*Read(body)), kSignature));
  auto host = SdkRequest();
  host.headers[0].second = "127.0.0.1:8081";
  EXPECT_FALSE(Verify(kSecret, StringToSign(*Read(host)), kSignature));
  auto ts = SdkRequest();
  ts.headers[4].second = "1765100001";
  EXPECT_FALSE(Verify(kSecret, StringToSign(*Read(ts)), kSignature));
  auto method = SdkRequest();
  method.method = "PUT";
  EXPECT_FALSE(Verify(kSecret, StringToSign(*Read(method)), kSignature));
  // Unsigned by the SDK: the action and the path (RequestDigest covers them instead).
  auto action = SdkRequest();
  action.headers[2].second = "StopInstances";
  EXPECT_TRUE(Verify(kSecret, StringToSign(*Read(action)), kSignature));
  // An uppercase hex signature is the same signature.
  std::string upper = kSignature;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto up = SdkRequest(upper);
  EXPECT_TRUE(Verify(kSecret, StringToSign(*Read(up)), Read(up)->auth.signature));
}

TEST(Zc2, ParsesTheAuthorizationHeaderStrictly) {
  auto a = ParseAuthorization(
      "ZC2-HMAC-SHA256 Credential=AK1,SignedHeaders=content-type;host,Signature=" +
      std::string(kSignature));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->access_key_id, "AK1");
  EXPECT_EQ(a->signed_headers, "content-type;host");
  EXPECT_TRUE(ParseAuthorization("zc2-hmac-sha256 Signature=" + std::string(kSignature) +
                                 ", Credential=AK1, SignedHeaders=x")
                  .has_value());
  const std::string sig = "Signature=" + std::string(kSignature);
  for (std::string bad : {
           std::string("Token abc"),
           std::string("ZC2-HMAC-SHA256"),
           "ZC2-HMAC-SHA1 Credential=AK1, SignedHeaders=content-type;host, " + sig,
           "ZC2-HMAC-SHA256 SignedHeaders=content-type;host, " + sig,  // no credential
           "ZC2-HMAC-SHA256 Credential=AK1, " + sig,                   // no signed headers
           std::string("ZC2-HMAC-SHA256 Credential=AK1, SignedHeaders=content-type;host"),
           "ZC2-HMAC-SHA256 Credential=, SignedHeaders=content-type;host, " + sig,
           "ZC2-HMAC-SHA256 Credential=A K, SignedHeaders=content-type;host, " + sig,
           std::string("ZC2-HMAC-SHA256 Credential=AK1, SignedHeaders=content-type;host, "
                       "Signature=abc"),
           "ZC2-HMAC-SHA256 Credential=AK1, SignedHeaders=content-type;host, Signature=" +
               std::string(63, 'a') + "g",
           "ZC2-HMAC-SHA256 Credential=AK1, Credential=AK2, SignedHeaders=x, " + sig,
           "ZC2-HMAC-SHA256 Credential=AK1, SignedHeaders=x, Extra=1, " + sig,
           "ZC2-HMAC-SHA256 Credential=AK1, SignedHeaders=x, Junk, " + sig,
       }) {
    EXPECT_FALSE(ParseAuthorization(bad).has_value()) << bad;
  }
}

TEST(Zc2, ReadRefusesWhatTheSdkWouldNeverSend) {
  EXPECT_TRUE(IsSigned(SdkRequest()));
  auto drop = [](const std::string& name) {
    auto r = SdkRequest();
    std::erase_if(r.headers, [&](const auto& h) { return h.first == name; });
    return r;
  };
  EXPECT_FALSE(Read(drop("x-zc-timestamp")).has_value());
  EXPECT_FALSE(Read(drop("host")).has_value());
  EXPECT_FALSE(Read(drop("content-type")).has_value());
  EXPECT_FALSE(Read(drop("authorization")).has_value());
  EXPECT_FALSE(IsSigned(drop("authorization")));
  EXPECT_TRUE(Read(drop("x-zc-signature-method")).has_value());  // optional; if sent, ours
  auto method = SdkRequest();
  method.headers[3].second = "HMAC-SHA1";
  EXPECT_FALSE(Read(method).has_value());
  for (const char* ts : {"", "-5", "12a", "1765100000000"}) {
    auto r = SdkRequest();
    r.headers[4].second = ts;
    EXPECT_FALSE(Read(r).has_value()) << ts;
  }
  auto other_signed = SdkRequest();
  other_signed.headers[5].second =
      "ZC2-HMAC-SHA256 Credential=AK0123, SignedHeaders=host, "
      "Signature=" +
      std::string(kSignature);
  EXPECT_FALSE(Read(other_signed).has_value());
  auto token = SdkRequest();
  token.headers[5].second = "Token abc";
  EXPECT_FALSE(IsSigned(token));
}

TEST(Zc2, TheTimestampMayBeFiveMinutesEitherWay) {
  EXPECT_TRUE(Fresh(1000, 1000));
  EXPECT_TRUE(Fresh(700, 1000));
  EXPECT_TRUE(Fresh(1300, 1000));
  EXPECT_FALSE(Fresh(699, 1000));
  EXPECT_FALSE(Fresh(1301, 1000));
  // A seen signature is remembered until its timestamp leaves the window, plus the skew.
  EXPECT_EQ(SeenTtlS(1000, 1000, 60), 360);
  EXPECT_EQ(SeenTtlS(1300, 1000, 60), 660);
  EXPECT_EQ(SeenTtlS(700, 1000, 60), 60);
  EXPECT_EQ(SeenTtlS(0, 1000, 60), 1);
}

TEST(Zc2, TheDigestNamesWhatTheSignatureLeavesOut) {
  const auto base = RequestDigest(SdkRequest());
  EXPECT_EQ(base, RequestDigest(SdkRequest()));  // an honest repeat
  auto action = SdkRequest();
  action.headers[2].second = "StopInstances";
  EXPECT_NE(RequestDigest(action), base);
  auto path = SdkRequest();
  path.target = "/api/v2/vm?x=1";
  EXPECT_NE(RequestDigest(path), base);
  auto idem = SdkRequest();
  idem.headers.emplace_back("idempotency-key", "k1");
  EXPECT_NE(RequestDigest(idem), base);
  auto body = SdkRequest();
  body.body += " ";
  EXPECT_NE(RequestDigest(body), base);
  // Lengths go first: moving bytes from one part to the next is another request.
  auto a = SdkRequest(), b = SdkRequest();
  a.headers[2].second = "Start";
  a.target = "Instances/api/v2/vm";
  b.headers[2].second = "StartInstances";
  b.target = "/api/v2/vm";
  EXPECT_NE(RequestDigest(a), RequestDigest(b));
}

}  // namespace
}  // namespace lambda::shim::zc2
