"""grpcurl-style calls through blimpd's gRPC server reflection: nothing of
Blimp's protos is needed on this side, only the server.

  python3 -m blimp_client.reflect [--server ADDR] list
  python3 -m blimp_client.reflect [--server ADDR] describe SERVICE
  python3 -m blimp_client.reflect [--server ADDR] call SERVICE/METHOD [JSON]

`call` sends JSON (default {}) as the request of a unary method and prints
the response as JSON with the proto's field names.
"""
import argparse
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

from blimp_client.channel import DEFAULT_SERVER
from proto.grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


class Reflection:
    """The descriptors a server describes, fetched on demand."""

    def __init__(self, channel: grpc.Channel, timeout_s: float = 10.0) -> None:
        self._stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        self._timeout_s = timeout_s
        self._pool = descriptor_pool.DescriptorPool()
        self._added = set()

    def _ask(self, **request):
        responses = self._stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=self._timeout_s)
        response = next(iter(responses))
        if response.HasField("error_response"):
            raise LookupError(response.error_response.error_message)
        return response

    def services(self):
        return sorted(s.name for s in self._ask(list_services="").list_services_response.service)

    def _add_files(self, response) -> None:
        files = [descriptor_pb2.FileDescriptorProto.FromString(raw)
                 for raw in response.file_descriptor_response.file_descriptor_proto]
        pending = {f.name: f for f in files if f.name not in self._added}
        while pending:  # Dependencies first.
            for name, proto in list(pending.items()):
                missing = [d for d in proto.dependency if d not in self._added]
                for dependency in missing:
                    if dependency not in pending:
                        self._add_files(self._ask(file_by_filename=dependency))
                if all(d in self._added for d in proto.dependency):
                    self._pool.Add(proto)
                    self._added.add(name)
                    del pending[name]

    def service(self, name: str):
        self._add_files(self._ask(file_containing_symbol=name))
        return self._pool.FindServiceByName(name)


def _message_class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory().GetPrototype(descriptor)


def describe(service) -> str:
    lines = [f"service {service.full_name} {{"]
    for method in service.methods:
        out_stream = "stream " if method.server_streaming else ""
        in_stream = "stream " if method.client_streaming else ""
        lines.append(f"  rpc {method.name}({in_stream}{method.input_type.full_name}) returns "
                     f"({out_stream}{method.output_type.full_name});")
    lines.append("}")
    return "\n".join(lines)


def call(channel: grpc.Channel, service, method_name: str, request_json: str,
         timeout_s: float) -> str:
    method = service.methods_by_name.get(method_name)
    if method is None:
        raise LookupError(f"{service.full_name} has no method {method_name}")
    if method.client_streaming or method.server_streaming:
        raise LookupError(f"{method.full_name} streams; `call` takes unary methods only")
    request = json_format.Parse(request_json, _message_class(method.input_type)())
    response_class = _message_class(method.output_type)
    invoke = channel.unary_unary(f"/{service.full_name}/{method.name}",
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=response_class.FromString)
    response = invoke(request, timeout=timeout_s)
    return json_format.MessageToJson(response, preserving_proto_field_name=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m blimp_client.reflect",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=DEFAULT_SERVER,
                        help=f"blimpd's gRPC address (default {DEFAULT_SERVER})")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per call")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the services")
    describe_parser = commands.add_parser("describe", help="a service's methods")
    describe_parser.add_argument("service")
    call_parser = commands.add_parser("call", help="a unary method, JSON in and out")
    call_parser.add_argument("method", help="SERVICE/METHOD, e.g. blimp.v1.VmService/ListVms")
    call_parser.add_argument("request", nargs="?", default="{}", help="the request as JSON")
    args = parser.parse_args(argv)
    with grpc.insecure_channel(args.server) as channel:
        reflection = Reflection(channel, args.timeout)
        try:
            if args.command == "list":
                print("\n".join(reflection.services()))
            elif args.command == "describe":
                print(describe(reflection.service(args.service)))
            else:
                service_name, _, method_name = args.method.rpartition("/")
                print(call(channel, reflection.service(service_name), method_name, args.request,
                           args.timeout))
        except (LookupError, KeyError, json_format.ParseError) as error:
            print(f"reflect: {error}", file=sys.stderr)
            return 2
        except grpc.RpcError as error:
            print(f"reflect: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
