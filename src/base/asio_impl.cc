// The single translation unit that compiles Asio's implementation.
#include <boost/asio/impl/src.hpp>
