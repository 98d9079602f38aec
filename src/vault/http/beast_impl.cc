// Boost.Beast's implementation, compiled once for the whole tree (BOOST_BEAST_SEPARATE_COMPILATION
// is set by the va_beast target).
#include <boost/beast/src.hpp>
