#include "api/json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/json_strict.h"

namespace blimp::api {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void AppendQuoted(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendMessage(const Message& message, std::string* out);

void AppendValue(const Message& message, const FieldDescriptor* field,
                 int index, std::string* out) {
  const Reflection* r = message.GetReflection();
  const bool repeated = field->is_repeated();
#define BLIMP_GET(Type) \
  (repeated ? r->GetRepeated##Type(message, field, index) : r->Get##Type(message, field))
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: absl::StrAppend(out, BLIMP_GET(Int32)); break;
    case FieldDescriptor::CPPTYPE_INT64: absl::StrAppend(out, BLIMP_GET(Int64)); break;
    case FieldDescriptor::CPPTYPE_UINT32: absl::StrAppend(out, BLIMP_GET(UInt32)); break;
    case FieldDescriptor::CPPTYPE_UINT64: absl::StrAppend(out, BLIMP_GET(UInt64)); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: absl::StrAppend(out, BLIMP_GET(Double)); break;
    case FieldDescriptor::CPPTYPE_FLOAT: absl::StrAppend(out, BLIMP_GET(Float)); break;
    case FieldDescriptor::CPPTYPE_BOOL: out->append(BLIMP_GET(Bool) ? "true" : "false"); break;
    case FieldDescriptor::CPPTYPE_ENUM: AppendQuoted(BLIMP_GET(Enum)->name(), out); break;
    case FieldDescriptor::CPPTYPE_STRING: AppendQuoted(BLIMP_GET(String), out); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: AppendMessage(BLIMP_GET(Message), out); break;
  }
#undef BLIMP_GET
}

void AppendMessage(const Message& message, std::string* out) {
  const Reflection* r = message.GetReflection();
  const auto* descriptor = message.GetDescriptor();
  out->push_back('{');
  bool first = true;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    // Scalars without presence always print (Firecracker prints 0 and
    // false); fields with presence only when set.
    if (field->has_presence() && !r->HasField(message, field)) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendQuoted(field->has_json_name() ? field->json_name() : field->name(), out);
    out->push_back(':');
    if (field->is_repeated()) {
      out->push_back('[');
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        if (j > 0) out->push_back(',');
        AppendValue(message, field, j, out);
      }
      out->push_back(']');
    } else {
      AppendValue(message, field, 0, out);
    }
  }
  out->push_back('}');
}

}  // namespace

absl::Status ParseJson(absl::string_view json, Message* message) {
  message->Clear();
  // protobuf's parser is lenient where the contract is not (quoted integers,
  // 1e2, duplicated keys, ...): the strict pass goes first.
  if (absl::Status strict = CheckStrictJson(json, *message->GetDescriptor()); !strict.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ", message->GetDescriptor()->name(), " JSON: ", strict.message()));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) {
    message->Clear();  // Nothing half-parsed escapes.
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", message->GetDescriptor()->name(),
                     " JSON: ", status.message().as_string()));
  }
  return absl::OkStatus();
}

std::string ToJson(const Message& message) {
  std::string out;
  AppendMessage(message, &out);
  return out;
}

}  // namespace blimp::api
